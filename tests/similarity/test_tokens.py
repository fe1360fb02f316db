"""Normalising: what a copier can change without changing the tokens, and what stays."""

from __future__ import annotations

from grader.similarity.tokens import MODULE_LEVEL, normalise, units


def texts(source: str) -> list[str]:
    return [t.text for t in normalise(source)]


def test_renaming_reformatting_and_comments_do_not_change_the_tokens():
    original = ('def f(x, w):\n    """Docstring."""\n    out = np.dot(x, w)  # producto\n'
                '    return out + 1\n')
    disguised = ("def g(entrada, pesos):\n    # otro comentario\n    'un string como comentario'\n"
                 "    resultado = np.dot(\n        entrada,\n        pesos,\n    )\n\n"
                 "    return resultado + 2.5\n")
    assert texts(original) == texts(disguised)
    assert texts(original) == ["def", "V", "(", "V", ",", "V", ")", ":", ";", "V", "=", "V", ".",
                               "dot", "(", "V", ",", "V", ")", ";", "return", "V", "+", "L", ";"]


def test_library_attributes_and_builtins_stay_but_self_attributes_are_names():
    assert texts("y = x.reshape(len(x))\n") == ["V", "=", "V", ".", "reshape", "(", "len", "(", "V",
                                                ")", ")", ";"]
    assert texts("self.fc1 = nn.Linear(4, 2)\n") == ["V", ".", "V", "=", "V", ".", "Linear", "(",
                                                     "L", ",", "L", ")", ";"]


def test_a_string_that_is_used_is_a_literal_not_a_docstring():
    assert texts('"-".join(parts)\n') == ["L", ".", "join", "(", "V", ")", ";"]


def test_a_semicolon_and_a_line_break_are_the_same_statement_end():
    assert texts("a = 1; b = 2\n") == texts("a = 1\nb = 2\n")


def test_a_function_body_starts_a_new_segment_after_its_header():
    tokens = normalise("def f(x=(1, 2)) -> int:\n    return x\n")
    assert [t.text for t in tokens if t.opens_body] == ["return"]


def test_top_level_functions_and_classes_are_units_and_the_rest_is_the_module_level():
    source = ("import numpy as np\n\n\n@decorator\ndef f(x):\n    return x\n\n\nclass A:\n"
              "    def g(self):\n        return 1\n\n\nprint(f(2))\n\n\ndef f(y):\n    return y\n")
    found = units(source)
    assert [(u.name, u.first_line, u.last_line) for u in found] == [
        ("f", 4, 6), ("A", 9, 11), ("f (2)", 17, 18), (MODULE_LEVEL, 1, 14)]
    assert [t.text for t in found[-1].tokens] == ["import", "V", "as", "V", ";", "print", "(", "V",
                                                  "(", "L", ")", ")", ";"]


def test_a_file_that_does_not_parse_is_one_module_level_unit_of_what_tokenises():
    found = units("def f(x):\n    return (x +\n")
    assert [u.name for u in found] == [MODULE_LEVEL]
    assert [t.text for t in found[0].tokens][:4] == ["def", "V", "(", "V"]
