// sharp, as a user writes it, as an anchor of bench/run.py:
//   node bench/sharp_thumbs.mjs OUT SIZES JOBS FILE...
// SIZES is comma-separated (1024,512,128); each size is its own pipeline from the
// file, so each gets libvips's shrink-on-load. JOBS images are in flight at once,
// each on one libvips thread (sharp.concurrency(1)), as thumbnailer's -w JOBS runs
// JOBS workers of one thread each. Writes OUT/<stem>_<size>.jpg at quality 85.
import path from "node:path";
import { createRequire } from "node:module";

const require = createRequire(path.join(import.meta.dirname, "node", "package.json"));
const sharp = require("sharp");

const [out, sizes, jobs, ...files] = process.argv.slice(2);
const px = sizes.split(",").map(Number);
sharp.concurrency(1);

async function one(file) {
  const stem = path.parse(file).name;
  for (const size of px) {
    await sharp(file)
      .autoOrient()
      .resize(size, size, { fit: "inside", withoutEnlargement: true })
      .jpeg({ quality: 85 })
      .toFile(path.join(out, `${stem}_${size}.jpg`));
  }
}

let next = 0;
async function lane() {
  while (next < files.length) await one(files[next++]);
}
await Promise.all(Array.from({ length: Number(jobs) }, lane));
