// TypeScript ground truth for bench/ir_accuracy.py, from the TypeScript compiler API.
//
//     node bench/ts_reference/reference.js REQUEST.json > ANSWER.json
//
// REQUEST: {"root": dir, "files": [paths relative to root], "sites": N, "seed": S}
// ANSWER:  {"definitions": [{path, name, kind, line}],
//           "sites": [{path, line, character, name, targets: [{path, line}]}]}
// Lines are 1-based; `character` is the 0-based UTF-16 column (the compiler's unit). Kinds use codegraph's
// names; the mapping from syntax kinds is the one README "Benchmarks -> IR accuracy" documents.
// `sites`: N identifier reference sites (not a declaration's own name, not inside import/export
// declarations) drawn with a seeded generator from every file; `targets`: what the language service's
// go-to-definition answers there (getDefinitionAtPosition, which follows imports to the declaration),
// kept only where it lands in one of the request's files.
"use strict";
const fs = require("fs");
const path = require("path");
const ts = require("typescript");

const request = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const root = path.resolve(request.root);
const absolute = request.files.map((file) => path.join(root, file));
const relative = (fileName) => path.relative(root, path.resolve(fileName)).split(path.sep).join("/");
const inRequest = new Set(absolute);

const options = { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext,
                  moduleResolution: ts.ModuleResolutionKind.Node10, skipLibCheck: true, noEmit: true };
const host = {
  getScriptFileNames: () => absolute,
  getScriptVersion: () => "1",
  getScriptSnapshot: (fileName) => fs.existsSync(fileName)
    ? ts.ScriptSnapshot.fromString(fs.readFileSync(fileName, "utf8")) : undefined,
  getCurrentDirectory: () => root,
  getCompilationSettings: () => options,
  getDefaultLibFileName: (settings) => ts.getDefaultLibFilePath(settings),
  fileExists: ts.sys.fileExists, readFile: ts.sys.readFile, readDirectory: ts.sys.readDirectory,
  directoryExists: ts.sys.directoryExists, getDirectories: ts.sys.getDirectories,
};
const service = ts.createLanguageService(host, ts.createDocumentRegistry());
const program = service.getProgram();

const FUNCTION_VALUES = new Set([ts.SyntaxKind.ArrowFunction, ts.SyntaxKind.FunctionExpression]);

// Our kind for a declaration node, or null when codegraph's IR does not model it as a definition.
function kindOf(node) {
  switch (node.kind) {
    case ts.SyntaxKind.ClassDeclaration: return node.name ? "class" : null;
    case ts.SyntaxKind.FunctionDeclaration: return node.name ? "function" : null;
    case ts.SyntaxKind.MethodDeclaration: case ts.SyntaxKind.MethodSignature:
    case ts.SyntaxKind.GetAccessor: case ts.SyntaxKind.SetAccessor: return "method";
    case ts.SyntaxKind.Constructor: return "method";
    case ts.SyntaxKind.PropertyDeclaration:
      return node.initializer && FUNCTION_VALUES.has(node.initializer.kind) ? "method" : null;
    case ts.SyntaxKind.VariableDeclaration:
      return ts.isIdentifier(node.name) && node.initializer && FUNCTION_VALUES.has(node.initializer.kind)
        ? "function" : null;
    case ts.SyntaxKind.InterfaceDeclaration: return "interface";
    case ts.SyntaxKind.TypeAliasDeclaration: return "type";
    case ts.SyntaxKind.EnumDeclaration: return "enum";
    case ts.SyntaxKind.ModuleDeclaration:  // `declare global {}` augments the global scope: it names nothing
      return ts.isIdentifier(node.name) && !(node.flags & ts.NodeFlags.GlobalAugmentation) ? "module" : null;
    default: return null;
  }
}

function lineOf(sourceFile, position) {
  return sourceFile.getLineAndCharacterOfPosition(position).line + 1;
}

function isReferenceSite(identifier) {
  const parent = identifier.parent;
  if (parent && ts.isDeclaration(parent) && parent.name === identifier) return false;
  for (let node = parent; node; node = node.parent) {
    if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node) || ts.isImportEqualsDeclaration(node)
        || ts.isJSDoc(node)) return false;
  }
  return true;
}

const definitions = [];
const candidates = [];
for (const fileName of absolute) {
  const sourceFile = program.getSourceFile(fileName);
  const visit = (node) => {
    const kind = kindOf(node);
    if (kind !== null) {
      const name = node.kind === ts.SyntaxKind.Constructor ? "constructor" : node.name.getText(sourceFile);
      const at = node.kind === ts.SyntaxKind.Constructor
        ? node.getStart(sourceFile) : node.name.getStart(sourceFile);
      definitions.push({ path: relative(fileName), name, kind, line: lineOf(sourceFile, at) });
    }
    if (ts.isIdentifier(node) && isReferenceSite(node)) candidates.push([fileName, node, sourceFile]);
    ts.forEachChild(node, visit);
  };
  visit(sourceFile);
}

// mulberry32: a small seeded generator, so every run samples the same sites.
function random(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const next = random(request.seed);
for (let i = candidates.length - 1; i > 0; i--) {  // Fisher-Yates, then the first N
  const j = Math.floor(next() * (i + 1));
  [candidates[i], candidates[j]] = [candidates[j], candidates[i]];
}
const sites = candidates.slice(0, request.sites).map(([fileName, identifier, sourceFile]) => {
  const start = identifier.getStart(sourceFile);
  const position = sourceFile.getLineAndCharacterOfPosition(start);
  const targets = (service.getDefinitionAtPosition(fileName, start) || [])
    .filter((definition) => inRequest.has(path.resolve(definition.fileName)))
    .map((definition) => ({ path: relative(definition.fileName),
                            line: lineOf(program.getSourceFile(definition.fileName), definition.textSpan.start) }));
  return { path: relative(fileName), line: position.line + 1, character: position.character,
           name: identifier.text, targets };
});
process.stdout.write(JSON.stringify({ typescript: ts.version, definitions, sites }));
