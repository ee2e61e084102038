"""How the crop margin and shift were chosen: which crop of a detected face looks most like FER-2013.

    python -m benchmarks.crops [--out crops.png]

FER-2013 faces are pasted, at random sizes and places, on a 320x240 frame; MediaPipe finds them;
each crop is compared (pixel correlation) with the FER face it came from. The best margin/shift
reproduces FER's own framing. Prints the grid of median correlations and saves a PNG: FER faces,
then their crops with the current settings, then the astronaut at the same settings.
"""
from __future__ import annotations

import argparse

import numpy as np
from PIL import Image

from sentivis.settings import Settings
from sentivis.stages.detect import FaceDetector, crop_face, decode, to_grey
from toolkit.samples import astronaut, compose, fer_faces, jpeg


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.crops", description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=int, default=300)
    parser.add_argument("--out", default="crop-study.png")
    args = parser.parse_args()
    settings = Settings()
    faces, _ = fer_faces(args.faces)
    detector = FaceDetector(0, 0.5, 1)
    rng = np.random.default_rng(0)
    cases = []
    for face in faces:
        side = int(rng.integers(70, 140))
        x, y = int(rng.integers(0, 320 - side)), int(rng.integers(0, 240 - side))
        rgb = decode(jpeg(compose([(face, x, y, side)])))
        found = detector.detect(rgb)
        if found:
            cases.append((to_grey(rgb), found[0].region, face))
    print(f"{len(cases)} of {len(faces)} pasted FER faces found; median correlation of crop and FER face:")
    shifts = (0.0, 0.05, 0.1, 0.15)
    print("margin " + "".join(f"  shift {s:<5}" for s in shifts))
    for margin in (0.0, 0.05, 0.1, 0.15, 0.2, 0.3):
        row = []
        for shift in shifts:
            corr = [np.corrcoef(crop_face(g, r, margin, shift).ravel().astype(float), f.ravel().astype(float))[0, 1]
                    for g, r, f in cases]
            row.append(f"{np.median(corr):12.3f}")
        print(f"{margin:<6} " + "".join(row))

    shown = cases[:12]
    current = [crop_face(g, r, settings.face_margin, settings.face_shift) for g, r, _ in shown]
    astro = astronaut()
    astro_crop = crop_face(to_grey(astro), detector.detect(astro)[0].region, settings.face_margin, settings.face_shift)
    rows = [np.hstack([f for _, _, f in shown]), np.hstack(current),
            np.hstack([astro_crop] + [np.zeros_like(astro_crop)] * (len(shown) - 1))]
    grid = np.vstack(rows)
    Image.fromarray(grid).resize((grid.shape[1] * 3, grid.shape[0] * 3), Image.NEAREST).save(args.out)
    print(f"saved {args.out} (rows: FER faces; their crops at margin {settings.face_margin}, "
          f"shift {settings.face_shift}; the astronaut)")
    detector.close()


if __name__ == "__main__":
    main()
