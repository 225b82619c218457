#!/bin/sh
# Remakes docs/gallery.png, the docs' picture of --gallery: the root folder's page of the
# bundled samples. Needs Debian's chromium (apt-get install chromium).
set -e
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r sample_images "$work/photos"
printf 'not really a jpeg' > "$work/photos/travel/broken.jpg"
(cd "$work" && thumbnailer photos -o thumbs -s 200 -s 600 -f webp -f auto --gallery --quiet) || true
chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --force-device-scale-factor=1 \
  --window-size=1100,1000 --screenshot="$work/shot.png" "file://$work/thumbs/gallery.html" 2>/dev/null
python3 -c "from PIL import Image; Image.open('$work/shot.png').convert('RGB').quantize(256, dither=Image.Dither.NONE).save('docs/gallery.png', optimize=True)"
