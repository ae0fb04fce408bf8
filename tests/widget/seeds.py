# ruff: noqa: E501 - the samples are kept on their published lines
"""The seeds' sample code (shared/seeds/000_*.txt, Flickr; 003_*.txt, Instagram), character for
character, except that line breaks are put back between statements: the seed pages lost them
when flattened to text, and `console.log("Conversion in progress...") filepicker.convert(` on
one line is a JavaScript syntax error (no semicolon); on two lines it is the sample as published.
"""

FLICKR_PICK = """\
filepicker.pick( { mimetypes: ['image/*'], services:['FLICKR'], }, function(Blob){ console.log(JSON.stringify(Blob)); } );
"""

FLICKR_EXPORT = """\
filepicker.exportFile( 'https://www.filestackapi.com/api/file/qHi4LxRh28IeEBdJcFpw', { mimetype:'image/*', suggestedFilename: 'newFile', services: ['FLICKR'] }, function(Blob){ console.log(Blob.url); } );
"""

FLICKR_CONVERT = """\
filepicker.pick( { services: ['FLICKR'], mimetype: 'image/*', }, function(pickedBlob){ console.log("Conversion in progress...")
filepicker.convert( pickedBlob, { width: 400, height: 400, }, { location: 'S3' }, function(convertedBlob){ console.log("Converted file url: ", convertedBlob.url); console.log("File is stored under your S3: ", convertedBlob.key); filepicker.remove( pickedBlob, function(){ console.log("Removed"); } ); } ); } );
"""

FLICKR_COMBINED = """\
filepicker.pick( { services: ['FLICKR'], mimetype: 'image/*', }, function (Blob) { filepicker.convert( Blob, { width: 300, height: 300, crop_first: true }, function (converted_Blob) { filepicker.exportFile(converted_Blob.url, { services: ['FLICKR'], mimetype: Blob.mimetype, suggestedFilename: 'converted_' + Blob.filename }, function (exported_Blob) { console.log('File successfully saved!'); }); }); });
"""

INSTAGRAM_PICK = """\
filepicker.pick( { mimetypes: ['image/*'], services:['INSTAGRAM'], }, function(Blob){ console.log(JSON.stringify(Blob)); } );
"""

INSTAGRAM_CONVERT = """\
filepicker.pick( { services: ['INSTAGRAM'], mimetype: 'image/*', }, function(pickedBlob){ console.log("Conversion in progress...")
filepicker.convert( pickedBlob, { width: 400, height: 400, }, { location: 'S3' }, function(convertedBlob){ console.log("Converted file url: ", convertedBlob.url); console.log("File is stored under your S3: ", convertedBlob.key); filepicker.remove( pickedBlob, function(){ console.log("Removed"); } ); } ); } );
"""

SEED_EXPORT_URL = "https://www.filestackapi.com/api/file/qHi4LxRh28IeEBdJcFpw"
