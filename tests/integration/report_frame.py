"""The rack -> DC report frame in Python (docs/report-protocol.md,
user/common/report.h, report_mac.h): the one home of the key derivation,
the three MAC kinds and the frame builder for the tests and bench_dc.py, so
every C side is checked against an independent reading of the protocol.

The KDF, HMAC-SHA-256 and keyed BLAKE2b are hashlib / hmac; XChaCha20-
Poly1305 is libsodium itself through ctypes (Python has no XChaCha20), the
AEAD call the protocol text names."""

import ctypes
import ctypes.util
import hashlib
import hmac
import os
import struct

FLAG_HMAC, FLAG_BLAKE2B, FLAG_XCHACHA = 0x01, 0x02, 0x04  # report_mac.h
MAC_FLAGS = FLAG_HMAC | FLAG_BLAKE2B | FLAG_XCHACHA
FLAG_OF = {"hmac": FLAG_HMAC, "blake2b": FLAG_BLAKE2B, "xchacha": FLAG_XCHACHA}
KIND_OF = {v: k for k, v in FLAG_OF.items()}
TRAILER_LEN = {"hmac": 32, "blake2b": 32, "xchacha": 24 + 16}  # xchacha: nonce, tag
WRITTEN = "xchacha"  # the kind racks send
SUBKEY_ID = {"hmac": 2, "blake2b": 3, "xchacha": 4}  # keyfile.h NW_KDF_ID_*

_sodium = None


def _lib():
    global _sodium
    if _sodium is None:
        lib = ctypes.CDLL(ctypes.util.find_library("sodium") or "libsodium.so.23")
        if lib.sodium_init() < 0:
            raise RuntimeError("sodium_init failed")
        _sodium = lib
    return _sodium


def kdf(master, subkey_id):
    """libsodium crypto_kdf_derive_from_key(32, id, "NetWatch", master):
    BLAKE2b keyed with the master, salt = id (8 bytes LE) + 8 zero bytes,
    personal = context + 8 zero bytes."""
    return hashlib.blake2b(b"", key=master, digest_size=32,
                           salt=struct.pack("<Q", subkey_id) + bytes(8),
                           person=b"NetWatch" + bytes(8)).digest()


def report_keys(master):
    """The report subkeys (keyfile.h), one per MAC kind."""
    return {kind: kdf(master, i) for kind, i in SUBKEY_ID.items()}


def _xchacha_tag(key, nonce, data):
    """crypto_aead_xchacha20poly1305_ietf_encrypt_detached: empty message,
    `data` as additional data; the 16-byte tag."""
    tag = ctypes.create_string_buffer(16)
    empty = ctypes.create_string_buffer(1)
    rc = _lib().crypto_aead_xchacha20poly1305_ietf_encrypt_detached(
        empty, tag, None, None, ctypes.c_ulonglong(0), data, ctypes.c_ulonglong(len(data)),
        None, nonce, key)
    if rc != 0:
        raise RuntimeError("crypto_aead_xchacha20poly1305_ietf_encrypt_detached failed")
    return tag.raw


def mac_of(kind, keys, data, nonce=None):
    """The trailer of `kind` over `data` (header and payload): HMAC-SHA-256,
    keyed BLAKE2b-256 (libsodium's crypto_generichash, 32-byte output), or
    a 24-byte nonce (random unless given) and the XChaCha20-Poly1305 tag."""
    if kind == "hmac":
        return hmac.new(keys["hmac"], data, hashlib.sha256).digest()
    if kind == "blake2b":
        return hashlib.blake2b(data, key=keys["blake2b"], digest_size=32).digest()
    nonce = os.urandom(24) if nonce is None else nonce
    return nonce + _xchacha_tag(keys["xchacha"], nonce, data)


def mac_ok(kind, keys, data, trailer):
    """Does `trailer` authenticate `data` under `kind`? (constant-time compare)"""
    want = mac_of(kind, keys, data, nonce=trailer[:24] if kind == "xchacha" else None)
    return hmac.compare_digest(trailer, want)


def frame(payload, key=None, mac=None, magic=b"NWR", version=1, flags=None, length=None,
          kind=WRITTEN):
    """One frame; `key`: the report keys (a `kind` trailer appended); `mac`:
    an explicit trailer (flagged `kind`)."""
    if isinstance(payload, str):
        payload = payload.encode()
    if flags is None:
        flags = FLAG_OF[kind] if (key is not None or mac is not None) else 0
    hdr = magic + bytes([version, flags, 0, 0, 0]) + struct.pack(
        ">I", len(payload) if length is None else length)
    body = hdr + payload
    if key is not None:
        body += mac_of(kind, key, body)
    elif mac is not None:
        body += mac
    return body
