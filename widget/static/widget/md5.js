/*
 * MD5 (RFC 1321) of an ArrayBuffer, as the base64 the multipart upload API asks of every part
 * (its Content-MD5). Browsers' WebCrypto has no MD5, hence this small implementation.
 */
(function (window) {
  "use strict";

  var SHIFTS = [7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21];
  var CONSTANTS = new Int32Array(64);
  for (var n = 0; n < 64; n++) {
    CONSTANTS[n] = Math.floor(Math.abs(Math.sin(n + 1)) * 4294967296) | 0;
  }

  function rotate(value, count) {
    return (value << count) | (value >>> (32 - count));
  }

  // One 64-byte block of `view` at `offset` folded into `state` (four int32 words).
  function block(state, view, offset) {
    var words = new Int32Array(16);
    for (var w = 0; w < 16; w++) words[w] = view.getInt32(offset + w * 4, true);
    var a = state[0], b = state[1], c = state[2], d = state[3];
    for (var i = 0; i < 64; i++) {
      var mix, index, round = i >> 4;
      if (round === 0) { mix = (b & c) | (~b & d); index = i; }
      else if (round === 1) { mix = (d & b) | (~d & c); index = (5 * i + 1) & 15; }
      else if (round === 2) { mix = b ^ c ^ d; index = (3 * i + 5) & 15; }
      else { mix = c ^ (b | ~d); index = (7 * i) & 15; }
      mix = (mix + a + CONSTANTS[i] + words[index]) | 0;
      a = d;
      d = c;
      c = b;
      b = (b + rotate(mix, SHIFTS[(round << 2) | (i & 3)])) | 0;
    }
    state[0] = (state[0] + a) | 0;
    state[1] = (state[1] + b) | 0;
    state[2] = (state[2] + c) | 0;
    state[3] = (state[3] + d) | 0;
  }

  function digest(buffer) {
    var bytes = new Uint8Array(buffer);
    var state = new Int32Array([0x67452301, 0xefcdab89 | 0, 0x98badcfe | 0, 0x10325476]);
    var whole = bytes.length - (bytes.length % 64);
    var view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (var offset = 0; offset < whole; offset += 64) block(state, view, offset);
    // The tail, the 0x80 marker, zeros, and the length in bits (64-bit little-endian).
    var rest = bytes.length - whole;
    var tail = new Uint8Array(rest < 56 ? 64 : 128);
    tail.set(bytes.subarray(whole));
    tail[rest] = 0x80;
    var tailView = new DataView(tail.buffer);
    var bits = bytes.length * 8;
    tailView.setUint32(tail.length - 8, bits >>> 0, true);
    tailView.setUint32(tail.length - 4, Math.floor(bits / 4294967296), true);
    for (var t = 0; t < tail.length; t += 64) block(state, tailView, t);
    var out = new Uint8Array(16);
    new DataView(out.buffer).setInt32(0, state[0], true);
    new DataView(out.buffer).setInt32(4, state[1], true);
    new DataView(out.buffer).setInt32(8, state[2], true);
    new DataView(out.buffer).setInt32(12, state[3], true);
    return out;
  }

  function toBase64(bytes) {
    var text = "";
    for (var i = 0; i < bytes.length; i++) text += String.fromCharCode(bytes[i]);
    return window.btoa(text);
  }

  function toHex(bytes) {
    var text = "";
    for (var i = 0; i < bytes.length; i++) text += (bytes[i] + 256).toString(16).slice(1);
    return text;
  }

  window.OpenPickerMD5 = {
    base64: function (buffer) { return toBase64(digest(buffer)); },
    hex: function (buffer) { return toHex(digest(buffer)); }
  };
})(window);
