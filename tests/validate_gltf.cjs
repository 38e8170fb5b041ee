// Validate glb files with the Khronos glTF validator (npm gltf-validator): node validate_gltf.cjs FILE...
// Prints one JSON object per line: {"file", "errors", "warnings", "infos", "messages": [first issues]}.
const fs = require("fs");
const validator = require("gltf-validator");

async function main() {
  for (const file of process.argv.slice(2)) {
    const report = await validator.validateBytes(new Uint8Array(fs.readFileSync(file)), {
      uri: file,
      maxIssues: 50,
    });
    const issues = report.issues;
    console.log(JSON.stringify({
      file,
      errors: issues.numErrors,
      warnings: issues.numWarnings,
      infos: issues.numInfos,
      messages: issues.messages.slice(0, 20).map((m) => `${m.severity} ${m.code} ${m.pointer || ""}: ${m.message}`),
    }));
  }
}
main().catch((e) => { console.error(String(e)); process.exit(2); });
