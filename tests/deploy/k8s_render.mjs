// Offline Kubernetes manifest tooling for tests/deploy (no cluster, no network, no kubectl needed).
//
//   node k8s_render.mjs render DIR   Renders the kustomization in DIR and validates every document
//                                    against the Kubernetes API schemas of the npm package
//                                    kubernetes-models (types, required fields, enums, formats), plus
//                                    a strict check that rejects fields the API does not know.
//   node k8s_render.mjs parse FILE   Parses a YAML stream (e.g. `kubectl kustomize` output).
//
// Prints one JSON object {"docs": [...], "errors": [...]} on stdout; exits 0 even when `errors` is
// not empty (the caller reports them), 2 on a usage error.
//
// The renderer implements the subset of Kustomize that deploy/kubernetes uses, and fails loudly on
// any other kustomization field so it can never silently ignore one: resources (files and
// directories), components (kind Component with resources and patches, applied after the
// resources as Kustomize does), namespace, images, replicas and patches given as JSON 6902 operation
// lists with a target. When kubectl is installed the Python test also compares this renderer's output with
// `kubectl kustomize`.

import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import YAML from "yaml";

const require = createRequire(import.meta.url);
const HERE = path.dirname(fileURLToPath(import.meta.url));

// ---------------------------------------------------------------------------------------------
// YAML

function parseYamlStream(text, where) {
  const docs = [];
  for (const doc of YAML.parseAllDocuments(text, { uniqueKeys: true })) {
    if (doc.errors.length) throw new Error(`${where}: ${doc.errors.map((e) => e.message).join("; ")}`);
    const value = doc.toJS({ maxAliasCount: 0 });
    if (value !== null && value !== undefined) docs.push(value);
  }
  return docs;
}

// ---------------------------------------------------------------------------------------------
// Kustomize subset

const SUPPORTED_FIELDS = new Set(["apiVersion", "kind", "resources", "components", "namespace", "images", "replicas",
  "patches"]);
const COMPONENT_FIELDS = new Set(["apiVersion", "kind", "resources", "patches"]);

// Kinds that are not namespaced (the ones a kustomization like ours could contain).
const CLUSTER_SCOPED = new Set([
  "Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition", "PersistentVolume",
  "StorageClass", "PriorityClass", "IngressClass", "ValidatingWebhookConfiguration",
  "MutatingWebhookConfiguration",
]);

function groupVersion(doc) {
  const av = String(doc.apiVersion || "");
  const i = av.indexOf("/");
  return i < 0 ? { group: "", version: av } : { group: av.slice(0, i), version: av.slice(i + 1) };
}

function matchesTarget(doc, target) {
  const gv = groupVersion(doc);
  if (target.kind !== undefined && target.kind !== doc.kind) return false;
  if (target.name !== undefined && target.name !== doc.metadata?.name) return false;
  if (target.group !== undefined && target.group !== gv.group) return false;
  if (target.version !== undefined && target.version !== gv.version) return false;
  if (target.namespace !== undefined && target.namespace !== doc.metadata?.namespace) return false;
  for (const k of Object.keys(target)) {
    if (!["kind", "name", "group", "version", "namespace"].includes(k)) {
      throw new Error(`patch target field ${k} is not supported by this renderer`);
    }
  }
  return true;
}

// RFC 6901 pointer -> parent container and final key.
function resolvePointer(doc, pointer, forAdd) {
  if (!pointer.startsWith("/")) throw new Error(`JSON pointer ${pointer} must start with /`);
  const parts = pointer.slice(1).split("/").map((p) => p.replace(/~1/g, "/").replace(/~0/g, "~"));
  let node = doc;
  for (let i = 0; i < parts.length - 1; i++) {
    const key = Array.isArray(node) ? Number(parts[i]) : parts[i];
    if (node === null || typeof node !== "object" || !(key in node)) {
      throw new Error(`JSON pointer ${pointer}: ${parts.slice(0, i + 1).join("/")} does not exist`);
    }
    node = node[key];
  }
  let last = parts[parts.length - 1];
  if (Array.isArray(node)) {
    if (last === "-" && forAdd) last = node.length;
    else last = Number(last);
    if (!Number.isInteger(last) || last < 0 || last > node.length - (forAdd ? 0 : 1)) {
      throw new Error(`JSON pointer ${pointer}: index out of range`);
    }
  } else if (node === null || typeof node !== "object") {
    throw new Error(`JSON pointer ${pointer}: parent is not an object`);
  } else if (!forAdd && !(last in node)) {
    throw new Error(`JSON pointer ${pointer} does not exist`);
  }
  return { parent: node, key: last };
}

function applyJson6902(doc, ops, where) {
  for (const op of ops) {
    const clone = (v) => JSON.parse(JSON.stringify(v));
    try {
      if (op.op === "add") {
        const { parent, key } = resolvePointer(doc, op.path, true);
        if (Array.isArray(parent)) parent.splice(key, 0, clone(op.value));
        else parent[key] = clone(op.value);
      } else if (op.op === "replace") {
        const { parent, key } = resolvePointer(doc, op.path, false);
        parent[key] = clone(op.value);
      } else if (op.op === "remove") {
        const { parent, key } = resolvePointer(doc, op.path, false);
        if (Array.isArray(parent)) parent.splice(key, 1);
        else delete parent[key];
      } else if (op.op === "test") {
        const { parent, key } = resolvePointer(doc, op.path, false);
        if (JSON.stringify(parent[key]) !== JSON.stringify(op.value)) throw new Error("test failed");
      } else {
        throw new Error(`op ${op.op} is not supported by this renderer`);
      }
    } catch (e) {
      throw new Error(`${where}: ${op.op} ${op.path}: ${e.message}`);
    }
  }
}

function podSpecs(doc) {
  const spec = doc.spec || {};
  if (doc.kind === "Pod") return [spec];
  if (doc.kind === "CronJob") return [spec.jobTemplate?.spec?.template?.spec].filter(Boolean);
  return [spec.template?.spec].filter(Boolean);
}

function applyImages(docs, images) {
  for (const img of images) {
    for (const doc of docs) {
      for (const ps of podSpecs(doc)) {
        for (const c of [...(ps.containers || []), ...(ps.initContainers || [])]) {
          const m = /^([^@:]+(?::\d+\/[^@:]+)?)(?::([^@]+))?(?:@(.+))?$/.exec(c.image || "");
          if (!m || m[1] !== img.name) continue;
          const name = img.newName ?? m[1];
          if (img.digest) c.image = `${name}@${img.digest}`;
          else if (img.newTag) c.image = `${name}:${img.newTag}`;
          else c.image = name + (m[2] ? `:${m[2]}` : "") + (m[3] ? `@${m[3]}` : "");
        }
      }
    }
  }
}

// The kustomization file of a directory: {abs, kfile, k}, checked for kind and supported fields.
function loadKustomization(dir, kind, fields) {
  const abs = path.resolve(dir);
  const kfile = ["kustomization.yaml", "kustomization.yml", "Kustomization"]
    .map((n) => path.join(abs, n)).find((p) => fs.existsSync(p));
  if (!kfile) throw new Error(`${abs}: no kustomization.yaml`);
  const [k] = parseYamlStream(fs.readFileSync(kfile, "utf8"), kfile);
  for (const field of Object.keys(k)) {
    if (!fields.has(field)) throw new Error(`${kfile}: field ${field} is not supported by this renderer`);
  }
  if (k.kind !== kind) throw new Error(`${kfile}: kind must be ${kind}`);
  return { abs, kfile, k };
}

function loadResources(abs, kfile, k, seen) {
  const docs = [];
  for (const r of k.resources || []) {
    const p = path.resolve(abs, r);
    if (!fs.existsSync(p)) throw new Error(`${kfile}: resource ${r} does not exist`);
    if (fs.statSync(p).isDirectory()) docs.push(...render(p, seen));
    else docs.push(...parseYamlStream(fs.readFileSync(p, "utf8"), p));
  }
  return docs;
}

function checkUnique(docs, kfile) {
  const ids = new Set();
  for (const d of docs) {
    const id = `${d.apiVersion}/${d.kind}/${d.metadata?.namespace || ""}/${d.metadata?.name}`;
    if (ids.has(id)) throw new Error(`${kfile}: resource ${id} appears twice`);
    ids.add(id);
  }
}

function applyPatches(docs, abs, kfile, k) {
  for (const p of k.patches || []) {
    if (!p.path || !p.target || p.patch !== undefined) {
      throw new Error(`${kfile}: only patches with path and target (JSON 6902) are supported`);
    }
    const pfile = path.resolve(abs, p.path);
    const [ops] = parseYamlStream(fs.readFileSync(pfile, "utf8"), pfile);
    if (!Array.isArray(ops)) throw new Error(`${pfile}: expected a JSON 6902 operation list`);
    const targets = docs.filter((d) => matchesTarget(d, p.target));
    if (targets.length === 0) throw new Error(`${kfile}: patch ${p.path} matches no resource`);
    for (const d of targets) applyJson6902(d, ops, pfile);
  }
}

function render(dir, seen = new Set()) {
  const { abs, kfile, k } = loadKustomization(dir, "Kustomization", SUPPORTED_FIELDS);
  if (seen.has(abs)) throw new Error(`kustomization cycle at ${abs}`);
  seen.add(abs);

  const docs = loadResources(abs, kfile, k, seen);
  // Components add their resources to, and patch, what the resources produced; the kustomization's
  // own transformers (patches, namespace, images, replicas) then apply to the whole.
  for (const c of k.components || []) {
    const comp = loadKustomization(path.resolve(abs, c), "Component", COMPONENT_FIELDS);
    docs.push(...loadResources(comp.abs, comp.kfile, comp.k, seen));
    checkUnique(docs, comp.kfile);
    applyPatches(docs, comp.abs, comp.kfile, comp.k);
  }
  checkUnique(docs, kfile);
  applyPatches(docs, abs, kfile, k);

  if (k.namespace) {
    for (const d of docs) {
      if (CLUSTER_SCOPED.has(d.kind)) continue;
      d.metadata = d.metadata || {};
      d.metadata.namespace = k.namespace;
      if (d.kind === "RoleBinding" || d.kind === "ClusterRoleBinding") {
        for (const s of d.subjects || []) {
          if (s.kind === "ServiceAccount" && (!s.namespace || s.namespace === "default")) s.namespace = k.namespace;
        }
      }
    }
  }

  applyImages(docs, k.images || []);

  for (const r of k.replicas || []) {
    const targets = docs.filter((d) => d.metadata?.name === r.name && d.spec && "replicas" in d.spec);
    if (targets.length === 0) throw new Error(`${kfile}: replicas ${r.name} matches no resource`);
    for (const d of targets) d.spec.replicas = r.count;
  }
  return docs;
}

// ---------------------------------------------------------------------------------------------
// Schema validation

// Custom resources the manifests use, by API group: the npm package holding their schemas
// (package.json pins it next to kubernetes-models).
const CRD_PACKAGES = new Map([["cert-manager.io", "@kubernetes-models/cert-manager"]]);

function modelDir(doc) {
  const { group, version } = groupVersion(doc);
  const crd = CRD_PACKAGES.get(group);
  const pkg = path.dirname(require.resolve(`${crd || "kubernetes-models"}/package.json`));
  return crd ? path.join(pkg, group, version) : path.join(pkg, group || "", version);
}

async function loadModel(doc) {
  const file = path.join(modelDir(doc), `${doc.kind}.mjs`);
  if (!fs.existsSync(file)) return null;
  const mod = await import(file);
  return { Model: mod[doc.kind], dts: file.replace(/\.mjs$/, ".d.ts") };
}

// Field names per TypeScript interface in kubernetes-models' declaration files, which mirror the
// OpenAPI schema (the compiled validators accept unknown fields, as the API server would with
// --validate=false; kubectl's strict validation rejects them, and so do we).
const dtsCache = new Map();

function resolveImport(fromFile, spec) {
  if (spec.startsWith(".")) return path.resolve(path.dirname(fromFile), spec) + ".d.ts";
  return require.resolve(spec, { paths: [path.dirname(fromFile)] }).replace(/\.js$/, ".d.ts");
}

// The fields of an interface body, from `startLine` on, at `indent` spaces: Map name -> {type,
// fields}. A field whose type is an inline object (`{` or `Array<{` on its line, as the custom
// resources' declarations write nested objects) gets that object's fields, parsed the same way; a map
// type (`{ [key: string]: T; }`) and any other type get fields null (not checked further).
function parseFields(lines, startLine, indent) {
  const fields = new Map();
  const pad = " ".repeat(indent);
  let i = startLine;
  let current = null;
  while (i < lines.length) {
    const line = lines[i];
    if (!line.trim()) { i++; continue; }
    if (!line.startsWith(pad)) break;  // the closing brace of the enclosing object
    const m = /^"([^"]+)"\??: (.*)$/.exec(line.slice(indent));
    if (m && !line.startsWith(pad + " ")) {
      current = { type: m[2].trim(), fields: null };
      fields.set(m[1], current);
      i++;
      if (current.type === "{" || current.type === "Array<{") {
        const inner = parseFields(lines, i, indent + 4);
        const isMap = inner.fields.size === 0;
        current.fields = isMap ? null : inner.fields;
        current.array = current.type === "Array<{";
        current.type = isMap ? "map" : "inline";
        i = inner.next + 1;  // past `};` or `}>;`
        current = null;
      }
      continue;
    }
    if (current !== null) current.type += " " + line.trim();  // a type that spans lines
    i++;
  }
  for (const f of fields.values()) f.type = f.type.replace(/;$/, "");
  return { fields, next: i };
}

function readDts(file) {
  if (dtsCache.has(file)) return dtsCache.get(file);
  const text = (fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "").replace(/\/\*[\s\S]*?\*\//g, "");
  const imports = new Map();
  for (const m of text.matchAll(/import \{ ([^}]+) \} from "([^"]+)";/g)) {
    for (const name of m[1].split(",").map((s) => s.trim())) imports.set(name, m[2]);
  }
  // The first interface is the type itself; its body is one `"field"?: Type;` per line, 4 spaces in.
  const im = /export interface \w+(?: extends [\w, ]+)? \{\n([\s\S]*?)\n\}/.exec(text);
  const fields = im ? parseFields(im[1].split("\n"), 0, 4).fields : null;
  const info = { file, imports, fields };
  dtsCache.set(file, info);
  return info;
}

function strictCheck(value, dtsFile, where, errors) {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return;
  const info = readDts(dtsFile);
  if (!info.fields) return;  // a type alias (IntOrString, Quantity, ...), not an object
  checkFields(value, info.fields, info, where, errors);
}

function checkFields(value, fields, info, where, errors) {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return;
  for (const [key, v] of Object.entries(value)) {
    const field = fields.get(key);
    if (field === undefined) {
      errors.push(`${where}/${key}: unknown field (not in the Kubernetes API schema)`);
      continue;
    }
    if (field.fields) {  // an inline object (custom resources)
      if (field.array && Array.isArray(v)) v.forEach((e, i) => checkFields(e, field.fields, info, `${where}/${key}/${i}`, errors));
      else if (!field.array) checkFields(v, field.fields, info, `${where}/${key}`, errors);
      continue;
    }
    const arr = /^Array<(I\w+)>$/.exec(field.type);
    const obj = /^(I\w+)$/.exec(field.type);
    const name = arr?.[1] || obj?.[1];
    if (!name || !info.imports.has(name)) continue;
    const target = resolveImport(info.file, info.imports.get(name));
    if (arr && Array.isArray(v)) v.forEach((e, i) => strictCheck(e, target, `${where}/${key}/${i}`, errors));
    else if (obj) strictCheck(v, target, `${where}/${key}`, errors);
  }
}

async function validate(doc) {
  const errors = [];
  const label = `${doc.kind}/${doc.metadata?.name}`;
  const model = await loadModel(doc);
  if (!model) return [`${label}: no schema for apiVersion ${doc.apiVersion} kind ${doc.kind}`];
  try {
    new model.Model(doc).validate();
  } catch (e) {
    errors.push(`${label}: ${e.message}`);
  }
  strictCheck(doc, model.dts, label, errors);
  return errors;
}

// ---------------------------------------------------------------------------------------------

async function main() {
  const [cmd, arg] = process.argv.slice(2);
  if (!["render", "parse"].includes(cmd) || !arg) {
    process.stderr.write("usage: node k8s_render.mjs render DIR | parse FILE\n");
    process.exit(2);
  }
  const out = { docs: [], errors: [] };
  try {
    if (cmd === "parse") {
      out.docs = parseYamlStream(fs.readFileSync(arg === "-" ? 0 : arg, "utf8"), arg);
    } else {
      out.docs = render(arg);
      for (const d of out.docs) out.errors.push(...(await validate(d)));
    }
  } catch (e) {
    out.errors.push(e.message);
  }
  process.stdout.write(JSON.stringify(out, null, 1) + "\n");
}

main();
