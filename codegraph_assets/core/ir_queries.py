"""Tree-sitter query sources, per language, for definitions, imports and calls.

The three are compiled as one query per language because one pass over the tree costs about half
of three. Capture names form a small protocol read by `ir_parser`, `ir_symbols` and `ir_imports`:

- ``@def.<kind>``: a definition node; the kind is one of `SYMBOL_KINDS`, where ``function`` becomes
  ``method`` when its parent is a type. ``@name``: its name token(s); one symbol per name.
- ``@value``: the function bound to a variable or field, whose ``body`` ends the signature.
- ``@type_value``: the right-hand side of a Go type spec, which refines ``type`` to struct/interface.
- ``@receiver``: a Go method's receiver type, which becomes the method's parent.
- ``@scope.impl`` with ``@impl_type``: a Rust impl block, a parent that is not itself a symbol.
- ``@callee``: the called name of a call expression.
- ``@module``: an import's module/path string as written; ``@imported``: a name an import binds.
  ``@java_import``, ``@use_tree`` and ``@python_import`` need language code to read (see `ir_imports`).

`ir_reference_queries` holds the queries compiled apart and run only from the EXTENDED tier on: they
capture scopes, bindings and every identifier for the per-language binders (`ir_python`, `ir_lexical`).
"""

from __future__ import annotations

PYTHON_DEFINITIONS = """
(class_definition name: (identifier) @name) @def.class
(function_definition name: (identifier) @name) @def.function
((module (expression_statement (assignment left: (identifier) @name) @def.constant))
 (#match? @name "^[A-Z][A-Z0-9_]*$"))
((module (expression_statement (assignment right: (assignment left: (identifier) @name)) @def.constant))
 (#match? @name "^[A-Z][A-Z0-9_]*$"))
((module (expression_statement
   (assignment left: [(pattern_list (identifier) @name) (tuple_pattern (identifier) @name)]) @def.constant))
 (#match? @name "^[A-Z][A-Z0-9_]*$"))
"""

PYTHON_IMPORTS = """
(import_statement) @python_import
(import_from_statement) @python_import
"""

PYTHON_CALLS = """
(call function: [(identifier) @callee (attribute attribute: (identifier) @callee)])
"""

_FUNCTION_VALUE = "[(arrow_function) (function_expression) (generator_function)] @value"

_ECMASCRIPT_DEFINITIONS = f"""
(function_declaration name: (identifier) @name) @def.function
(generator_function_declaration name: (identifier) @name) @def.function
(method_definition name: (_) @name) @def.method
(variable_declarator name: (identifier) @name value: {_FUNCTION_VALUE}) @def.function
"""

JAVASCRIPT_DEFINITIONS = _ECMASCRIPT_DEFINITIONS + f"""
(class_declaration name: (identifier) @name) @def.class
(field_definition property: (_) @name value: {_FUNCTION_VALUE}) @def.method
"""

TYPESCRIPT_DEFINITIONS = _ECMASCRIPT_DEFINITIONS + f"""
(class_declaration name: (type_identifier) @name) @def.class
(abstract_class_declaration name: (type_identifier) @name) @def.class
(public_field_definition name: (_) @name value: {_FUNCTION_VALUE}) @def.method
(interface_declaration name: (type_identifier) @name) @def.interface
(type_alias_declaration name: (type_identifier) @name) @def.type
(enum_declaration name: (identifier) @name) @def.enum
(function_signature name: (identifier) @name) @def.function
(method_signature name: (_) @name) @def.method
(abstract_method_signature name: (_) @name) @def.method
(internal_module name: (identifier) @name) @def.module
"""

ECMASCRIPT_IMPORTS = """
(import_statement source: (string (string_fragment) @module))
(import_statement (import_clause (identifier) @imported))
(import_statement (import_clause (named_imports (import_specifier name: (_) @imported))))
(import_statement (import_clause (namespace_import (identifier) @imported)))
(export_statement source: (string (string_fragment) @module))
((call_expression function: (identifier) @_require arguments: (arguments . (string (string_fragment) @module)))
 (#eq? @_require "require"))
(call_expression function: (import) arguments: (arguments . (string (string_fragment) @module)))
"""

ECMASCRIPT_CALLS = """
(call_expression function: [(identifier) @callee (member_expression property: (_) @callee)])
(new_expression constructor: [(identifier) @callee (member_expression property: (_) @callee)])
"""

GO_DEFINITIONS = """
(function_declaration name: (identifier) @name) @def.function
(method_declaration
  receiver: (parameter_list (parameter_declaration type: (_) @receiver))
  name: (field_identifier) @name) @def.method
(type_spec name: (type_identifier) @name type: (_) @type_value) @def.type
(type_alias name: (type_identifier) @name) @def.type
(method_elem name: (field_identifier) @name) @def.method
(source_file (const_declaration (const_spec (identifier) @name) @def.constant))
"""

GO_IMPORTS = """
(import_spec path: (interpreted_string_literal (interpreted_string_literal_content) @module))
"""

GO_CALLS = """
(call_expression function: [(identifier) @callee (selector_expression field: (field_identifier) @callee)])
"""

JAVA_DEFINITIONS = """
(class_declaration name: (identifier) @name) @def.class
(record_declaration name: (identifier) @name) @def.class
(interface_declaration name: (identifier) @name) @def.interface
(annotation_type_declaration name: (identifier) @name) @def.interface
(enum_declaration name: (identifier) @name) @def.enum
(method_declaration name: (identifier) @name) @def.method
(constructor_declaration name: (identifier) @name) @def.method
"""

JAVA_IMPORTS = """
(import_declaration) @java_import
"""

JAVA_CALLS = """
(method_invocation name: (identifier) @callee)
(object_creation_expression type: [(type_identifier) @callee (generic_type (type_identifier) @callee)])
"""

RUST_DEFINITIONS = """
(function_item name: (identifier) @name) @def.function
(function_signature_item name: (identifier) @name) @def.function
(struct_item name: (type_identifier) @name) @def.struct
(union_item name: (type_identifier) @name) @def.struct
(enum_item name: (type_identifier) @name) @def.enum
(trait_item name: (type_identifier) @name) @def.trait
(type_item name: (type_identifier) @name) @def.type
(const_item name: (identifier) @name) @def.constant
(static_item name: (identifier) @name) @def.constant
(mod_item name: (identifier) @name) @def.module
(impl_item type: (_) @impl_type) @scope.impl
"""

RUST_IMPORTS = """
(use_declaration argument: (_) @use_tree)
(extern_crate_declaration name: (identifier) @module)
"""

_RUST_CALLEE = """[(identifier) @callee
  (field_expression field: (field_identifier) @callee)
  (scoped_identifier name: (identifier) @callee)]"""

RUST_CALLS = f"""
(call_expression function: {_RUST_CALLEE})
(call_expression function: (generic_function function: {_RUST_CALLEE}))
"""


QUERY_SOURCES: dict[str, str] = {
    "python": PYTHON_DEFINITIONS + PYTHON_IMPORTS + PYTHON_CALLS,
    "javascript": JAVASCRIPT_DEFINITIONS + ECMASCRIPT_IMPORTS + ECMASCRIPT_CALLS,
    "typescript": TYPESCRIPT_DEFINITIONS + ECMASCRIPT_IMPORTS + ECMASCRIPT_CALLS,
    "tsx": TYPESCRIPT_DEFINITIONS + ECMASCRIPT_IMPORTS + ECMASCRIPT_CALLS,
    "go": GO_DEFINITIONS + GO_IMPORTS + GO_CALLS,
    "java": JAVA_DEFINITIONS + JAVA_IMPORTS + JAVA_CALLS,
    "rust": RUST_DEFINITIONS + RUST_IMPORTS + RUST_CALLS,
}


# Capture names read by `ir_python`: scopes (@scope.*), binding sites, import statements, attribute
# members, keyword-argument names, class bases and every identifier (@ref).
PYTHON_REFERENCES = """
(function_definition parameters: (parameters) @scope.function)
(class_definition body: (block) @scope.class)
(lambda) @scope.lambda
[(list_comprehension) (set_comprehension) (dictionary_comprehension) (generator_expression)] @scope.comprehension
(function_definition name: (identifier) @definition)
(class_definition name: (identifier) @definition)
(parameters (identifier) @parameter)
(lambda_parameters (identifier) @parameter)
(default_parameter name: (identifier) @parameter)
(typed_parameter . (identifier) @parameter)
(typed_default_parameter name: (identifier) @parameter)
(parameters [(list_splat_pattern (identifier) @parameter) (dictionary_splat_pattern (identifier) @parameter)])
(lambda_parameters [(list_splat_pattern (identifier) @parameter) (dictionary_splat_pattern (identifier) @parameter)])
(typed_parameter [(list_splat_pattern (identifier) @parameter) (dictionary_splat_pattern (identifier) @parameter)])
(assignment left: (_) @target)
(augmented_assignment left: (identifier) @target.augmented)
(for_statement left: (_) @target)
(for_in_clause left: (_) @target)
(as_pattern_target (_) @target)
(named_expression name: (identifier) @target.walrus)
(global_statement (identifier) @global)
(nonlocal_statement (identifier) @nonlocal)
[(import_statement) (import_from_statement) (future_import_statement)] @import
(attribute attribute: (identifier) @member)
(keyword_argument name: (identifier) @keyword)
(class_definition superclasses: (argument_list) @bases)
(identifier) @ref
"""
