"""What files say about themselves: EXIF/XMP, container metadata, C2PA credentials."""

from __future__ import annotations

import datetime
import io
import json
from fractions import Fraction
from pathlib import Path

import av
import c2pa
import numpy as np
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from PIL import Image

from factfinder.media import metadata


def phone_photo(path: Path, *, orientation: int = 1, lat: float = 43.3417, lon: float = 52.8619) -> Path:
    """A JPEG carrying what a phone writes: time, make, model, software, serial number, GPS."""
    exif = Image.Exif()
    exif[0x010F] = "TestMaker"
    exif[0x0110] = "Phone 7"
    exif[0x0131] = "Camera 2.1"
    exif[0x0112] = orientation
    sub = exif.get_ifd(0x8769)
    sub[0x9003] = "2011:12:16 11:42:07"
    sub[0x9011] = "+05:00"
    sub[0xA431] = "SERIAL-0042"
    sub[0x927C] = b"\x00\x01binary maker note" * 50
    gps = exif.get_ifd(0x8825)
    gps[1], gps[3] = ("N" if lat >= 0 else "S"), ("E" if lon >= 0 else "W")
    gps[2] = _dms(abs(lat))
    gps[4] = _dms(abs(lon))
    gps[5], gps[6] = 0, 27.5
    Image.new("RGB", (120, 80), (90, 120, 200)).save(path, "JPEG", exif=exif)
    return path


def _dms(value: float) -> tuple[float, float, float]:
    deg = int(value)
    minutes = int((value - deg) * 60)
    seconds = round(((value - deg) * 60 - minutes) * 60, 4)
    return (float(deg), float(minutes), seconds)


def test_phone_photo_fields_are_lifted(tmp_path: Path) -> None:
    meta = metadata.read_image_metadata(phone_photo(tmp_path / "p.jpg"))
    assert meta.captured_at_claimed == "2011-12-16T11:42:07+05:00"
    assert (meta.camera_make, meta.camera_model, meta.software) == ("TestMaker", "Phone 7", "Camera 2.1")
    assert meta.gps_lat == pytest.approx(43.3417, abs=1e-4) and meta.gps_lon == pytest.approx(52.8619, abs=1e-4)
    assert meta.gps_alt == pytest.approx(27.5)
    assert meta.raw["exif"]["BodySerialNumber"] == "SERIAL-0042"
    assert meta.raw["exif"]["MakerNote"] == {"binary_bytes": 950}, "binary blobs are kept as their size only"
    json.dumps(meta.raw)  # all of it is JSON


def test_southern_and_western_coordinates_are_negative(tmp_path: Path) -> None:
    meta = metadata.read_image_metadata(phone_photo(tmp_path / "p.jpg", lat=-33.8688, lon=-70.6483))
    assert meta.gps_lat == pytest.approx(-33.8688, abs=1e-4) and meta.gps_lon == pytest.approx(-70.6483, abs=1e-4)


def test_sideways_photo_reports_its_upright_size(tmp_path: Path) -> None:
    meta = metadata.read_image_metadata(phone_photo(tmp_path / "p.jpg", orientation=6))
    assert meta.orientation == 6 and (meta.width, meta.height) == (80, 120)


def test_impossible_gps_is_not_a_coordinate(tmp_path: Path) -> None:
    meta = metadata.read_image_metadata(phone_photo(tmp_path / "p.jpg", lat=95.0))
    assert meta.gps_lat is None and meta.gps_lon is None
    assert any("GPS" in w for w in meta.warnings)


def test_xmp_creator_tool_and_date(tmp_path: Path) -> None:
    xmp = (
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        b'<rdf:Description xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/"'
        b' xmp:CreatorTool="Editor 9" photoshop:DateCreated="2011-12-17T09:00:00"/></rdf:RDF></x:xmpmeta>'
    )
    path = tmp_path / "x.jpg"
    Image.new("RGB", (32, 32)).save(path, "JPEG", xmp=xmp)
    meta = metadata.read_image_metadata(path)
    assert meta.software == "Editor 9" and meta.captured_at_claimed == "2011-12-17T09:00:00"
    assert "CreatorTool" in meta.raw["xmp"]


def make_video(
    path: Path, *, seconds: float = 2.0, rotation: int | None = None, tags: dict[str, str] | None = None
) -> Path:
    """A small H.264 MP4 with moving content, container tags and (optionally) a display rotation."""
    with av.open(str(path), "w") as out:
        for key, value in (tags or {}).items():
            out.metadata[key] = value
        stream = out.add_stream("libx264", rate=Fraction(25))
        stream.width, stream.height, stream.pix_fmt = 160, 96, "yuv420p"
        if rotation is not None:
            stream.set_display_rotation(rotation)
        rng = np.random.default_rng(7)
        base = rng.integers(0, 255, (96, 160, 3), dtype=np.uint8)
        for i in range(int(seconds * 25)):
            frame = av.VideoFrame.from_ndarray(np.roll(base, i * 3, axis=1), format="rgb24")
            for packet in stream.encode(frame.reformat(format="yuv420p")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def test_video_container_metadata(tmp_path: Path) -> None:
    path = make_video(
        tmp_path / "v.mp4",
        tags={"creation_time": "2011-12-16T11:45:00.000000Z", "location": "+43.3417+052.8619/"},
    )
    meta = metadata.read_av_metadata(path)
    assert meta.kind == "video" and meta.video_codec == "h264"
    assert (meta.width, meta.height) == (160, 96)
    assert meta.duration == pytest.approx(2.0, abs=0.1)
    assert meta.captured_at_claimed == "2011-12-16T11:45:00.000000Z"
    assert meta.gps_lat == pytest.approx(43.3417) and meta.gps_lon == pytest.approx(52.8619)
    assert meta.encoder and meta.encoder.startswith("Lavf")


def test_video_rotation_from_the_display_matrix(tmp_path: Path) -> None:
    assert metadata.read_av_metadata(make_video(tmp_path / "plain.mp4")).rotation == 0
    turned = metadata.read_av_metadata(make_video(tmp_path / "r.mp4", rotation=90)).rotation
    assert turned in (90, 270), "a phone video recorded sideways says so"


def test_not_a_container(tmp_path: Path) -> None:
    path = tmp_path / "x.bin"
    path.write_bytes(b"\x00\x01garbage" * 100)
    meta = metadata.read_av_metadata(path)
    assert meta.kind == "unknown" and meta.warnings


# -- C2PA -----------------------------------------------------------------------------------


CAPTURE = "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture"


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn), x509.NameAttribute(NameOID.ORGANIZATION_NAME, "t")])


def sign_jpeg(data: bytes) -> bytes:
    """Sign a JPEG with C2PA content credentials from a throwaway CA (valid, but on no trust list)."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    usage = dict.fromkeys(
        (
            "content_commitment",
            "key_encipherment",
            "data_encipherment",
            "key_agreement",
            "encipher_only",
            "decipher_only",
        ),
        False,
    )
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("test root"))
        .issuer_name(_name("test root"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(digital_signature=False, key_cert_sign=True, crl_sign=True, **usage), critical=True
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("test signer"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(digital_signature=True, key_cert_sign=False, crl_sign=False, **usage), critical=True
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    chain = cert.public_bytes(serialization.Encoding.PEM) + ca.public_bytes(serialization.Encoding.PEM)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    signer = c2pa.Signer.from_info(c2pa.C2paSignerInfo(alg=b"es256", sign_cert=chain, private_key=pem, ta_url=None))
    created = {"action": "c2pa.created", "digitalSourceType": CAPTURE}
    manifest = {
        "claim_generator_info": [{"name": "factfinder-tests", "version": "1"}],
        "title": "signed.jpg",
        "assertions": [{"label": "c2pa.actions", "data": {"actions": [created]}}],
    }
    dest = io.BytesIO()
    with c2pa.Builder(json.dumps(manifest)) as builder:
        builder.sign(signer, "image/jpeg", io.BytesIO(data), dest)
    return dest.getvalue()


def test_c2pa_credentials_valid_then_altered(tmp_path: Path) -> None:
    plain = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(plain, "JPEG")
    signed = tmp_path / "signed.jpg"
    signed.write_bytes(sign_jpeg(plain.getvalue()))
    info = metadata.read_c2pa(signed, "image/jpeg")
    assert info is not None and info["state"] == "Valid", info
    assert info["claim_generator"] == "factfinder-tests"
    altered = bytearray(signed.read_bytes())
    altered[-100] ^= 0xFF  # one byte of the picture data, after signing
    (tmp_path / "altered.jpg").write_bytes(bytes(altered))
    info = metadata.read_c2pa(tmp_path / "altered.jpg", "image/jpeg")
    assert info is not None and info["state"] == "Invalid"
    assert any("mismatch" in f for f in info["failures"]), info
    (tmp_path / "plain.jpg").write_bytes(plain.getvalue())
    assert metadata.read_c2pa(tmp_path / "plain.jpg", "image/jpeg") is None, "no credentials, no claim"
