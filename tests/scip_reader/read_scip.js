// Decode a SCIP index with Sourcegraph's bindings and print it as JSON on stdout.
//
//     node tests/scip_reader/read_scip.js INDEX.scip
//
// The decoder is scip.js from @sourcegraph/scip-typescript (protoc-gen-ts output over google-protobuf),
// written independently of codegraph's Python writer, so a round trip checks the bytes, not our reading
// of them. Ranges are printed as SCIP stores them (0-based; 3 elements when start and end line agree).
"use strict";
const fs = require("fs");
const { scip } = require("@sourcegraph/scip-typescript/dist/src/scip.js");

const index = scip.Index.deserialize(fs.readFileSync(process.argv[2]));
const metadata = index.metadata;
const output = {
  metadata: {
    version: metadata.version,
    tool_info: { name: metadata.tool_info.name, version: metadata.tool_info.version,
                 arguments: metadata.tool_info.arguments },
    project_root: metadata.project_root,
    text_document_encoding: metadata.text_document_encoding,
  },
  documents: index.documents.map((document) => ({
    relative_path: document.relative_path,
    language: document.language,
    symbols: document.symbols.map((info) => ({
      symbol: info.symbol,
      kind: info.kind,
      display_name: info.display_name,
      documentation: info.documentation,
      signature: info.has_signature_documentation ? info.signature_documentation.text : null,
      relationships: info.relationships.map((r) => ({
        symbol: r.symbol, is_reference: r.is_reference, is_implementation: r.is_implementation,
        is_type_definition: r.is_type_definition, is_definition: r.is_definition,
      })),
    })),
    occurrences: document.occurrences.map((occurrence) => ({
      range: occurrence.range,
      symbol: occurrence.symbol,
      symbol_roles: occurrence.symbol_roles,
      enclosing_range: occurrence.enclosing_range,
    })),
  })),
  external_symbols: index.external_symbols.map((info) => ({ symbol: info.symbol, kind: info.kind,
                                                            display_name: info.display_name })),
};
process.stdout.write(JSON.stringify(output));
