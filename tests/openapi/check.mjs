// Checks the OpenAPI document a VJVector node serves, for tests/e2e/test_openapi.py:
//   node check.mjs <openapi.json> [answers.json]
// 1. validates the document with @apidevtools/swagger-parser (OpenAPI 3.1 schema + $ref resolution);
// 2. validates each request body example against its request schema, and each recorded answer,
//    [{method, path (the spec's template), status, body}], against the JSON schema of that operation's
//    response for that status (ajv, JSON Schema 2020-12, the dialect of OpenAPI 3.1), with the
//    document's components as the $ref targets.
// Prints one JSON object: {"valid": bool, "error": string|null, "examples": n, "checked": n, "failures": [...]}.
import fs from "node:fs";
import SwaggerParser from "@apidevtools/swagger-parser";
import Ajv2020 from "ajv/dist/2020.js";

const [specPath, answersPath] = process.argv.slice(2);
const out = { valid: false, error: null, checked: 0, failures: [] };

try {
  // validate() dereferences its argument in place: give it a copy.
  await SwaggerParser.validate(JSON.parse(fs.readFileSync(specPath, "utf8")));
  out.valid = true;
} catch (e) {
  out.error = String(e && e.message ? e.message : e);
}

if (out.valid) {
  const spec = JSON.parse(fs.readFileSync(specPath, "utf8"));
  const answers = answersPath ? JSON.parse(fs.readFileSync(answersPath, "utf8")) : [];
  // Schema keywords of OpenAPI (example, x-...) are not JSON Schema's: strict off. Formats (uuid) are
  // not checked: ajv-formats is not installed.
  const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
  ajv.addSchema(spec, "openapi.json");
  const rebase = (node) => {
    if (Array.isArray(node)) return node.map(rebase);
    if (node && typeof node === "object") {
      const copy = {};
      for (const [k, v] of Object.entries(node)) {
        copy[k] = k === "$ref" && typeof v === "string" && v.startsWith("#/") ? "openapi.json" + v : rebase(v);
      }
      return copy;
    }
    return node;
  };
  const resolve = (node) => {
    while (node && node.$ref) {
      node = node.$ref.slice(2).split("/").reduce((o, k) => o[k.replace(/~1/g, "/").replace(/~0/g, "~")], spec);
    }
    return node;
  };
  // Every request example validates against its own request schema.
  out.examples = 0;
  for (const [path, item] of Object.entries(spec.paths)) {
    for (const [method, op] of Object.entries(item)) {
      const media = op?.requestBody?.content?.["application/json"];
      if (!media) continue;
      const values = media.examples ? Object.entries(media.examples).map(([k, e]) => [k, e.value])
                                    : media.example !== undefined ? [["example", media.example]] : [];
      const validate = ajv.compile(rebase(media.schema));
      for (const [name, value] of values) {
        out.examples += 1;
        if (!validate(value)) {
          out.failures.push({ method: method.toUpperCase(), path, problem: `request example ${name}: ` +
            ajv.errorsText(validate.errors, { separator: "; " }).slice(0, 2000) });
        }
      }
    }
  }
  for (const a of answers) {
    const op = spec.paths?.[a.path]?.[a.method.toLowerCase()];
    if (!op) {
      out.failures.push({ ...a, body: undefined, problem: "no such operation in the document" });
      continue;
    }
    const response = resolve(op.responses?.[String(a.status)] ?? op.responses?.default);
    if (!response) {
      out.failures.push({ method: a.method, path: a.path, status: a.status, problem: "status not documented" });
      continue;
    }
    const media = response.content?.["application/json"];
    if (!media || !media.schema) {
      out.failures.push({ method: a.method, path: a.path, status: a.status, problem: "no JSON schema for this status" });
      continue;
    }
    const validate = ajv.compile(rebase(media.schema));
    out.checked += 1;
    if (!validate(a.body)) {
      out.failures.push({
        method: a.method, path: a.path, status: a.status,
        problem: ajv.errorsText(validate.errors, { separator: "; " }).slice(0, 2000),
        body: JSON.stringify(a.body).slice(0, 600),
      });
    }
  }
}

process.stdout.write(JSON.stringify(out) + "\n");
