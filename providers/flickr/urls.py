"""Flickr's own routes: node-flickrapi's proxy (the endpoint its browser library is pointed at)."""

from django.urls import path

from providers.flickr import views

urlpatterns = [
    path("services/rest", views.FlickrProxyView.as_view(), name="flickr-proxy"),
    path("services/rest/", views.FlickrProxyView.as_view()),
]
