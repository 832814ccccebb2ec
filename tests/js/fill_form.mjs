// Fills in an XForm with ODK's own web form engine (@getodk/xforms-engine) and writes the submission it
// produces, so that the OpenRosa tests send factfinder what a real ODK client sends, serialised by code nobody on
// this project wrote (issue 8, "A real client nobody on the project wrote").
//
// One submission:
//   node tests/js/fill_form.mjs --form FORM.xml --answers ANSWERS.json --out DIR
//        [--restore-from DIR]   start from a submission written earlier, keeping its instanceID (a changed copy)
//        [--edit-from DIR]      edit a submission written earlier: the engine sets meta/deprecatedID to its
//                               instanceID and gives the edit a new one, as ODK clients do for an edit
//        [--max-size BYTES]     split the submission as the engine does for a server's
//                               X-OpenRosa-Accept-Content-Length: one POST per chunk
//        [--device-id ID]
// Several, in order, loading the engine once (it takes a second or two to start):
//   node tests/js/fill_form.mjs --jobs JOBS.json
// where JOBS.json is a list of {"form", "answers", "out", "restore_from", "edit_from", "max_size", "device_id"}
// (paths relative to the JSON file; only form and out are required).
//
// ANSWERS.json maps a question's reference to its answer: a string for text, date and dateTime questions, the
// choice's name (or a list of names) for select questions, and {"file": PATH, "type": MIME, "name": NAME} for
// uploads (PATH relative to the answers file; null clears an answer). A reference that is not a question of the
// form is an error, so a typo cannot silently leave a question empty.
//
// Each DIR receives instance.xml, the attachments (attachment-NAME), and submission.json:
//   {"instance_id", "deprecated_id", "status", "violations", "chunks": [[{"field", "filename", "type", "path"}]]}
// where each chunk is one multipart POST; its first part is always xml_submission_file. As the engine does, a
// restored or edited submission carries only the attachments that changed: the server already holds the others.
//
// The engine runs headless: the DOM it parses XML with comes from jsdom, and nothing reaches the network
// (global fetch is replaced by one that refuses; form attachments are read from the form's own folder).

import { mkdir, readFile, writeFile } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { JSDOM } from "jsdom";

const INSTANCE_FILE_NAME = "xml_submission_file";

/** Gives the engine the browser globals it parses and walks XML with, from jsdom; and no network. */
function installDom() {
  const { window } = new JSDOM("<!DOCTYPE html><html><body></body></html>");
  for (const name of ["window", "document", "DOMParser", "XMLSerializer", "Node", "Element", "Document"]) {
    Object.defineProperty(globalThis, name, { value: window[name], configurable: true, writable: true });
  }
  // The engine's bundled tree-sitter (its XPath parser, WebAssembly inlined as data) takes the Node branch of
  // its Emscripten loader, which names __dirname: an ES module has none. Nothing is read from it, because the
  // WebAssembly comes in as bytes.
  globalThis.__dirname ??= dirname(fileURLToPath(import.meta.url));
  globalThis.fetch = async (resource) => {
    throw new Error(`fill_form: network access refused (${String(resource)})`);
  };
}

/** Reads a form attachment (jr://images/x.png and the like) from the form's own folder, never the network. */
function localFormAttachments(formDir) {
  return async (url) => {
    const name = decodeURIComponent(new URL(String(url)).pathname).split("/").pop();
    const blob = new Blob([await readFile(join(formDir, name))]);
    return { ok: true, status: 200, blob: async () => blob, text: async () => blob.text() };
  };
}

/** Every node of the form instance, depth first, so answers can be found by reference. */
function* walk(node) {
  yield node;
  for (const child of node.currentState.children ?? []) {
    yield* walk(child);
  }
}

/** Sets one question's answer through the engine's own node API, as a person filling in the form would. */
async function answer(node, value, answersDir) {
  switch (node.nodeType) {
    case "input":
      node.setValue(value === null ? "" : String(value));
      return;
    case "select":
      if (Array.isArray(value)) node.selectValues(value.map(String));
      else node.selectValue(value === null ? null : String(value));
      return;
    case "upload": {
      if (value === null) {
        node.setValue(null);
        return;
      }
      const path = resolve(answersDir, value.file);
      const type = value.type ?? "application/octet-stream";
      node.setValue(new File([await readFile(path)], value.name ?? basename(path), { type }));
      return;
    }
    default:
      throw new Error(`fill_form: ${node.currentState.reference} is a ${node.nodeType}, which takes no answer`);
  }
}

/** A submission written earlier, as the engine reads one back: the instance XML file and its attachments. */
async function readSubmission(dir) {
  const written = JSON.parse(await readFile(join(dir, "submission.json"), "utf8"));
  const data = new FormData();
  for (const part of written.chunks.flat()) {
    if (!data.has(part.field)) {
      const bytes = await readFile(join(dir, part.path));
      data.set(part.field, new File([bytes], part.filename, { type: part.type }));
    }
  }
  return data;
}

/** The text of the first meta element with this name (instanceID, deprecatedID) in the instance XML, or null. */
function metaValue(xml, localName) {
  const found = new DOMParser().parseFromString(xml, "text/xml").getElementsByTagNameNS("*", localName);
  return found.length ? found[0].textContent : null;
}

/** Fills in one submission and writes it to job.out; returns what submission.json says. */
async function fill(engine, job) {
  const formPath = resolve(job.form);
  const formXml = await readFile(formPath, "utf8");
  const options = {
    form: { fetchFormAttachment: localFormAttachments(dirname(formPath)) },
    instance: { preloadProperties: { deviceID: job.device_id ?? "factfinder-test-device" } },
  };

  let instance;
  if (job.edit_from) {
    const data = await readSubmission(resolve(job.edit_from));
    instance = await engine.editInstance(formXml, { inputType: "FORM_INSTANCE_INPUT_RESOLVED", data: [data] }, options);
  } else if (job.restore_from) {
    const data = await readSubmission(resolve(job.restore_from));
    instance = await engine.restoreInstance(formXml, { data: [data] }, options);
  } else {
    instance = await engine.createInstance(formXml, options);
  }
  const { root } = instance;

  if (job.answers) {
    const answersPath = resolve(job.answers);
    const answers = JSON.parse(await readFile(answersPath, "utf8"));
    const byReference = new Map();
    for (const node of walk(root)) byReference.set(node.currentState.reference, node);
    for (const [reference, value] of Object.entries(answers)) {
      const node = byReference.get(reference);
      if (!node) throw new Error(`fill_form: the form has no question ${reference}`);
      await answer(node, value, dirname(answersPath));
    }
  }

  // A restored or edited instance resolves its earlier attachments asynchronously: let that settle first.
  await new Promise((settle) => setImmediate(settle));
  const payload = await root.prepareInstancePayload(
    job.max_size ? { payloadType: "chunked", maxSize: Number(job.max_size) } : { payloadType: "monolithic" },
  );

  const out = resolve(job.out);
  await mkdir(out, { recursive: true });
  const chunks = [];
  let instanceXml = "";
  for (const data of payload.data) {
    const parts = [];
    for (const [field, file] of data.entries()) {
      const path = field === INSTANCE_FILE_NAME ? "instance.xml" : `attachment-${basename(file.name)}`;
      const bytes = Buffer.from(await file.arrayBuffer());
      await writeFile(join(out, path), bytes);
      if (field === INSTANCE_FILE_NAME) instanceXml = bytes.toString("utf8");
      parts.push({ field, filename: file.name, type: file.type || "application/octet-stream", path });
    }
    chunks.push(parts);
  }
  const summary = {
    instance_id: metaValue(instanceXml, "instanceID"),
    deprecated_id: metaValue(instanceXml, "deprecatedID"),
    status: payload.status,
    violations: (payload.violations ?? []).map((v) => v.reference ?? v.fileName ?? String(v)),
    chunks,
  };
  await writeFile(join(out, "submission.json"), JSON.stringify(summary, null, 2));
  return summary;
}

/** The jobs the command line asks for: one from the options, or the list in --jobs. */
async function jobsFromArgs() {
  const { values: args } = parseArgs({
    options: {
      jobs: { type: "string" },
      form: { type: "string" },
      answers: { type: "string" },
      out: { type: "string" },
      "restore-from": { type: "string" },
      "edit-from": { type: "string" },
      "max-size": { type: "string" },
      "device-id": { type: "string" },
    },
  });
  if (args.jobs) {
    const jobsPath = resolve(args.jobs);
    const base = dirname(jobsPath);
    const at = (path) => (path ? resolve(base, path) : undefined);
    const listed = JSON.parse(await readFile(jobsPath, "utf8"));
    return listed.map((job) => ({
      ...job,
      form: at(job.form),
      answers: at(job.answers),
      out: at(job.out),
      restore_from: at(job.restore_from),
      edit_from: at(job.edit_from),
    }));
  }
  return [
    {
      form: args.form,
      answers: args.answers,
      out: args.out,
      restore_from: args["restore-from"],
      edit_from: args["edit-from"],
      max_size: args["max-size"],
      device_id: args["device-id"],
    },
  ];
}

/** The engine supports Node ^20.19.3 || ^22.12 || >=24 (its package.json); older ones lack globals it uses. */
function checkNode() {
  const [major, minor] = process.versions.node.split(".").map(Number);
  if (major < 20 || (major === 20 && minor < 19)) {
    throw new Error(`fill_form: ODK's web form engine needs Node 20.19 or later; this is Node ${process.versions.node}`);
  }
}

async function main() {
  checkNode();
  const jobs = await jobsFromArgs();
  for (const job of jobs) {
    if (!job.form || !job.out) throw new Error("fill_form: each submission needs a form and an out folder");
  }
  installDom();
  const engine = await import("@getodk/xforms-engine");
  for (const job of jobs) {
    process.stdout.write(`${JSON.stringify(await fill(engine, job))}\n`);
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    process.stderr.write(`${error?.stack ?? error}\n`);
    process.exit(1);
  },
);
