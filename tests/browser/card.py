"""A KTP-like card, drawn here so that no real identity document is ever
needed: as a JPEG to choose from a file picker, and as a Y4M video for
Chromium's fake camera."""

from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

LINES = [
    ("NIK", "3174065203910001"),
    ("Nama", "SITI RAHAYU"),
    ("Tempat/Tgl Lahir", "JAKARTA, 12-03-1991"),
    ("Jenis Kelamin", "PEREMPUAN"),
    ("Alamat", "JL. MERDEKA NO. 17"),
    ("Agama", "ISLAM"),
    ("Pekerjaan", "KARYAWAN SWASTA"),
    ("Berlaku Hingga", "SEUMUR HIDUP"),
]


def draw_card(size: tuple[int, int]) -> Image.Image:
    """A card of ID-1 proportions on a dark desk, filling most of the frame."""
    width, height = size
    image = Image.new("RGB", size, (38, 34, 30))
    draw = ImageDraw.Draw(image)
    card_w = int(width * 0.8)
    card_h = int(card_w * 54 / 85.6)
    left, top = (width - card_w) // 2, (height - card_h) // 2
    draw.rounded_rectangle(
        (left, top, left + card_w, top + card_h), radius=card_w // 30, fill=(176, 208, 236)
    )
    unit = card_h / 20
    title = ImageFont.load_default(size=int(unit * 1.1))
    text = ImageFont.load_default(size=int(unit * 0.85))
    for row, heading in enumerate(["PROVINSI DKI JAKARTA", "KOTA JAKARTA SELATAN"]):
        draw.text(
            (left + card_w / 2, top + unit * (1.6 + 1.4 * row)),
            heading,
            font=title,
            fill=(20, 20, 20),
            anchor="mm",
        )
    for row, (label, value) in enumerate(LINES):
        y = top + unit * (5 + 1.6 * row)
        draw.text((left + unit, y), label, font=text, fill=(25, 25, 25))
        draw.text((left + unit * 9, y), f": {value}", font=text, fill=(25, 25, 25))
    photo = (left + card_w * 0.72, top + unit * 5, left + card_w * 0.94, top + unit * 15)
    draw.rectangle(photo, fill=(196, 60, 60))
    cx = (photo[0] + photo[2]) / 2
    draw.ellipse((cx - unit * 1.6, photo[1] + unit * 1.5, cx + unit * 1.6, photo[1] + unit * 5), fill=(240, 210, 180))
    draw.ellipse((cx - unit * 3, photo[1] + unit * 5.5, cx + unit * 3, photo[3] + unit * 3), fill=(40, 40, 90))
    return image


def write_jpeg(path: Path, size: tuple[int, int]) -> Path:
    draw_card(size).save(path, "JPEG", quality=90)
    return path


def write_y4m(path: Path, size: tuple[int, int]) -> Path:
    """One 4:2:0 frame, which Chromium's fake camera shows over and over."""
    width, height = size
    y, cb, cr = draw_card(size).convert("YCbCr").split()
    half = (width // 2, height // 2)
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F30:1 Ip A1:1 C420jpeg\n".encode())
        out.write(b"FRAME\n")
        out.write(y.tobytes())
        out.write(cb.resize(half, Image.Resampling.BILINEAR).tobytes())
        out.write(cr.resize(half, Image.Resampling.BILINEAR).tobytes())
    return path
