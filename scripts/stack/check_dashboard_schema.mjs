// Validates Grafana dashboard JSON files against Grafana's published schema.
//
//   node scripts/stack/check_dashboard_schema.mjs NODE_DIR DASHBOARD.json...
//
// NODE_DIR holds node_modules with @grafana/schema, ts-json-schema-generator and
// ajv (scripts/stack/install.sh puts them in .stack/node). @grafana/schema ships
// the TypeScript types generated from Grafana's CUE kinds; the `Dashboard` type
// of its raw dashboard kind is turned into a JSON Schema (additional properties
// forbidden, so a misspelt key fails too) and every file is validated with ajv.
// The dashboard must also carry the schemaVersion of that Grafana release, so
// Grafana loads it without migrating it.
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";

const [nodeDirArg, ...files] = process.argv.slice(2);
const nodeDir = nodeDirArg && resolve(nodeDirArg);
if (!nodeDir || files.length === 0) {
  console.error("usage: check_dashboard_schema.mjs NODE_DIR DASHBOARD.json...");
  process.exit(2);
}
const require = createRequire(join(nodeDir, "package.json"));
const { createGenerator } = require("ts-json-schema-generator");
const Ajv = require("ajv");
const addFormats = require("ajv-formats");

const schemaPkg = join(nodeDir, "node_modules", "@grafana", "schema");
const { version } = JSON.parse(readFileSync(join(schemaPkg, "package.json"), "utf8"));
const typesFile = join(schemaPkg, "dist", "types", "raw", "dashboard", "x", "dashboard_types.gen.d.ts");

// The current schemaVersion is the default the package's dashboard kind sets.
const kindSource = readFileSync(
  join(schemaPkg, "dist", "esm", "raw", "dashboard", "x", "dashboard_types.gen.mjs"), "utf8");
const m = kindSource.match(/schemaVersion:\s*(\d+)/);
if (!m) {
  console.error(`FAIL: no default schemaVersion found in @grafana/schema ${version}`);
  process.exit(1);
}
const currentSchemaVersion = Number(m[1]);

const schema = createGenerator({
  path: typesFile,
  type: "Dashboard",
  skipTypeCheck: true,
  additionalProperties: false,
  expose: "export",
  topRef: true,
}).createSchema("Dashboard");

const ajv = new Ajv({ allErrors: true, strict: false });
addFormats(ajv);
const validate = ajv.compile(schema);

let failed = 0;
for (const file of files) {
  const dashboard = JSON.parse(readFileSync(file, "utf8"));
  const problems = [];
  if (!validate(dashboard)) {
    for (const e of validate.errors) {
      const extra = e.params && e.params.additionalProperty ? ` (${e.params.additionalProperty})` : "";
      problems.push(`${e.instancePath || "/"} ${e.message}${extra}`);
    }
  }
  if (dashboard.schemaVersion !== currentSchemaVersion) {
    problems.push(`schemaVersion is ${dashboard.schemaVersion}, Grafana ${version} writes ${currentSchemaVersion}`);
  }
  const panels = (dashboard.panels || []).flatMap((p) => [p, ...(p.panels || [])]);
  if (problems.length) {
    failed++;
    console.error(`FAIL ${file}: not a valid Grafana ${version} dashboard`);
    for (const p of problems) console.error(`  ${p}`);
  } else {
    console.log(`ok   ${file}: valid against @grafana/schema ${version} Dashboard (schemaVersion ${currentSchemaVersion}, ${panels.length} panels)`);
  }
}
process.exit(failed ? 1 : 0);
