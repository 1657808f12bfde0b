#!/usr/bin/env node
// Validates a YAML stream of Kubernetes objects (stdin, or files named on the
// command line) against the upstream OpenAPI schemas shipped by the
// kubernetes-models package, and prometheus-operator objects against the
// schemas of their CRDs (@kubernetes-models/prometheus-operator). Offline:
// the schemas are in node_modules, installed by `make deps` (npm ci).
//
// Prints one JSON line per object: {"kind","name","ok","errors":[...]}.
// Exit 0 when every object is valid, 1 when one is not (or a kind is not
// known: an object nobody can check is a failure, not a pass), 2 on bad
// input (unparsable YAML, a document that is not an object).
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";

// apiVersion "group/version" (or "version" for the core group) -> module path.
function modulePath(apiVersion, kind) {
  if (typeof apiVersion !== "string" || typeof kind !== "string" ||
      !/^[A-Za-z0-9]+$/.test(kind) || !/^([a-z0-9.-]+\/)?v[0-9a-z]+$/.test(apiVersion))
    return null;
  if (apiVersion.startsWith("monitoring.coreos.com/"))
    return `@kubernetes-models/prometheus-operator/${apiVersion}/${kind}`;
  return `kubernetes-models/${apiVersion}/${kind}`;
}

async function validateOne(obj) {
  const kind = obj.kind, name = obj.metadata?.name ?? null;
  const path = modulePath(obj.apiVersion, kind);
  if (!path)
    return { kind, name, ok: false, errors: [`no schema for apiVersion ${obj.apiVersion} kind ${kind}`] };
  let mod;
  try {
    mod = await import(path);
  } catch {
    return { kind, name, ok: false, errors: [`no schema for apiVersion ${obj.apiVersion} kind ${kind}`] };
  }
  const Model = mod[kind];
  try {
    new Model(obj).validate();
    return { kind, name, ok: true, errors: [] };
  } catch (e) {
    const errs = Array.isArray(e.errors)
      ? e.errors.map((x) => `${x.instancePath || "/"} ${x.message}${x.params ? " " + JSON.stringify(x.params) : ""}`)
      : [String(e.message || e)];
    return { kind, name, ok: false, errors: errs };
  }
}

const inputs = process.argv.length > 2
  ? process.argv.slice(2).map((f) => readFileSync(f, "utf8"))
  : [readFileSync(0, "utf8")];
let bad = false;
for (const text of inputs) {
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length) {
      console.error(`YAML error: ${doc.errors[0].message}`);
      process.exit(2);
    }
    const obj = doc.toJS();
    if (obj === null || obj === undefined) continue; // empty document between ---
    if (typeof obj !== "object" || Array.isArray(obj)) {
      console.error("a document is not a Kubernetes object");
      process.exit(2);
    }
    const items = obj.kind === "List" && Array.isArray(obj.items) ? obj.items : [obj];
    for (const item of items) {
      const r = await validateOne(item);
      if (!r.ok) bad = true;
      console.log(JSON.stringify(r));
    }
  }
}
process.exit(bad ? 1 : 0);
