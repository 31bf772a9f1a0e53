// Decode HEP3 datagrams with npm hep-js (an independent codec): reads hex lines on stdin,
// prints one JSON object per line (rcinfo + payload). Used by tests/ops/test_hep_real.py.
const path = require("path");
const hep = require(path.join(process.env.HEPJS_DIR, "node_modules", "hep-js"));
const lines = require("fs").readFileSync(0, "utf8").split("\n").filter(Boolean);
for (const line of lines) {
  const out = hep.decapsulate(Buffer.from(line, "hex"));
  console.log(JSON.stringify(out));
}
