"""Tree-sitter query sources for the EXTENDED tier: scopes, bindings and every identifier, per language.

Compiled apart from `ir_queries` (and only when a tier needs them). Captures read by `ir_python` (Python)
and `ir_lexical` (the others):

- ``@scope.function``: a parameter list; its function's scope runs from it to the function's end (so the
  function's own name binds outside). ``@scope.block``: a whole node that is a function scope (a closure
  without a parameter list). ``@scope.class``: a type body; its parent's name is its owner.
- ``@parameter``, ``@local``: an identifier bound in the innermost function scope; ``@pattern``: a
  destructuring pattern whose identifiers are bound there.
- ``@member``: the name in a member access (`a.b`, `a::b`); the receiver is a field of its parent.
- ``@field``: a field (member variable) declared in a type body. ``@bases``: a base type expression.
- ``@ref``: every identifier-like token; ``@skip``: tokens that are neither bindings nor references.
- ``@import``/``@export``/``@package``: statements the language module reads itself.
"""

from __future__ import annotations

from codegraph_assets.core.ir_queries import PYTHON_REFERENCES

_ECMASCRIPT_COMMON = """
(formal_parameters) @scope.function
(arrow_function parameter: (identifier) @parameter) @scope.block
(class_body) @scope.class
(variable_declarator name: (_) @pattern)
(for_in_statement kind: _ left: (_) @pattern)
(catch_clause parameter: (_) @pattern)
(import_statement) @import
(export_statement) @export
(export_specifier alias: (_) @skip)
(member_expression property: (_) @member)
[(identifier) (shorthand_property_identifier) (shorthand_property_identifier_pattern)] @ref
"""

JAVASCRIPT_REFERENCES = _ECMASCRIPT_COMMON + """
(formal_parameters (identifier) @parameter)
(formal_parameters [(assignment_pattern) (object_pattern) (array_pattern) (rest_pattern)] @pattern)
(field_definition property: (_) @field)
(class_heritage (identifier) @bases)
(class_heritage (member_expression) @bases)
"""

TYPESCRIPT_REFERENCES = _ECMASCRIPT_COMMON + """
(required_parameter pattern: (_) @pattern)
(optional_parameter pattern: (_) @pattern)
(required_parameter (accessibility_modifier) pattern: (identifier) @field)
(public_field_definition name: (_) @field)
(type_parameter name: (type_identifier) @local)
(extends_clause value: [(identifier) (member_expression)] @bases)
(implements_clause [(type_identifier) (nested_type_identifier)] @bases)
(implements_clause (generic_type name: (_) @bases))
(extends_type_clause type: [(type_identifier) (nested_type_identifier)] @bases)
(extends_type_clause type: (generic_type name: (_) @bases))
(nested_type_identifier name: (_) @member)
(type_identifier) @ref
"""

GO_REFERENCES = """
(function_declaration parameters: (parameter_list) @scope.function)
(method_declaration receiver: (parameter_list) @scope.function)
(func_literal parameters: (parameter_list) @scope.function)
(type_spec type: [(struct_type) (interface_type)]) @scope.class
(parameter_declaration name: (identifier) @parameter)
(variadic_parameter_declaration name: (identifier) @parameter)
(short_var_declaration left: (expression_list (identifier) @local))
(range_clause left: (expression_list (identifier) @local))
(var_spec name: (identifier) @local)
(const_spec name: (identifier) @local)
(type_parameter_declaration name: (identifier) @local)
(field_declaration name: (field_identifier) @field)
(import_spec) @import
(package_clause (package_identifier) @package)
(selector_expression field: (field_identifier) @member)
(qualified_type name: (type_identifier) @member)
(keyed_element . (literal_element (identifier) @skip))
[(identifier) (type_identifier) (package_identifier)] @ref
"""

JAVA_REFERENCES = """
(method_declaration parameters: (formal_parameters) @scope.function)
(constructor_declaration parameters: (formal_parameters) @scope.function)
(lambda_expression) @scope.block
[(class_body) (interface_body) (enum_body)] @scope.class
(formal_parameter name: (identifier) @parameter)
(spread_parameter (variable_declarator name: (identifier) @parameter))
(lambda_expression parameters: (identifier) @parameter)
(inferred_parameters (identifier) @parameter)
(catch_formal_parameter name: (identifier) @parameter)
(local_variable_declaration declarator: (variable_declarator name: (identifier) @local))
(enhanced_for_statement name: (identifier) @local)
(resource name: (identifier) @local)
(type_parameter (type_identifier) @local)
(field_declaration declarator: (variable_declarator name: (identifier) @field))
(enum_constant name: (identifier) @field)
(import_declaration) @import
(package_declaration) @package
(superclass (type_identifier) @bases)
(superclass (generic_type (type_identifier) @bases))
(super_interfaces (type_list (type_identifier) @bases))
(super_interfaces (type_list (generic_type (type_identifier) @bases)))
(extends_interfaces (type_list (type_identifier) @bases))
(field_access field: (identifier) @member)
(method_invocation name: (identifier) @member)
(scoped_type_identifier (type_identifier) . (type_identifier) @member)
[(identifier) (type_identifier)] @ref
"""

RUST_REFERENCES = """
(function_item parameters: (parameters) @scope.function)
(function_signature_item parameters: (parameters) @scope.function)
(closure_expression) @scope.block
(struct_item body: (field_declaration_list) @scope.class)
(parameter pattern: (_) @pattern)
(closure_parameters (_) @pattern)
(let_declaration pattern: (_) @pattern)
(for_expression pattern: (_) @pattern)
(type_parameter name: (type_identifier) @local)
(field_declaration name: (field_identifier) @field)
(use_declaration) @import
(mod_item !body) @import
(field_expression field: (field_identifier) @member)
(scoped_identifier name: (identifier) @member)
(scoped_type_identifier name: (type_identifier) @member)
(field_initializer field: (field_identifier) @skip)
[(identifier) (type_identifier)] @ref
"""

REFERENCE_QUERY_SOURCES: dict[str, str] = {
    "python": PYTHON_REFERENCES,
    "javascript": JAVASCRIPT_REFERENCES,
    "typescript": TYPESCRIPT_REFERENCES,
    "tsx": TYPESCRIPT_REFERENCES,
    "go": GO_REFERENCES,
    "java": JAVA_REFERENCES,
    "rust": RUST_REFERENCES,
}
