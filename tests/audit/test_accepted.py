"""Accepted survivors of ``grader audit`` (``hidden/audit_accepted.toml``): how entries match a
mutant, and clear errors for a malformed file."""

from __future__ import annotations

import pytest

from grader.audit.mutate import Mutant
from grader.audit.run import Accepted, _accepted
from grader.errors import ConfigError


def mutant(function="fit_cnn", operator="const", diff="L9 fit_cnn: epochs = 20  ->  epochs = 40"):
    return Mutant(id="m", function=function, exercise="fit_cnn", operator=operator, line=9,
                  diff=diff, source="")


def test_an_entry_matches_by_function_and_change_or_operator():
    assert Accepted("fit_cnn", "why", change="epochs = 40").matches(mutant())
    assert Accepted("fit_cnn", "why", operator="const").matches(mutant())
    assert not Accepted("fit_cnn", "why", operator="arith").matches(mutant())
    assert not Accepted("fit_cnn", "why", change="epochs = 41").matches(mutant())
    assert not Accepted("SmallCNN", "why", operator="const").matches(mutant())


@pytest.mark.parametrize(("entry", "message"), [
    ('function = "f"\nreason = "r"', "change u operator"),
    ('function = "f"\nchange = "x"', "debe tener function, reason"),
    ('function = "f"\nreason = "r"\nchange = ""', "textos no vacíos"),
    ('function = "f"\nreason = "r"\noperator = "magic"', "operador desconocido 'magic'"),
    ('function = "f"\nreason = "r"\nchange = "x"\nextra = "y"', "debe tener function"),
])
def test_a_malformed_entry_is_a_clear_error(tmp_path, entry, message):
    path = tmp_path / "audit_accepted.toml"
    path.write_text(f"[[accepted]]\n{entry}\n")
    with pytest.raises(ConfigError, match=message):
        _accepted(path)


def test_invalid_toml_names_the_file(tmp_path):
    path = tmp_path / "audit_accepted.toml"
    path.write_text("[[accepted]\n")
    with pytest.raises(ConfigError, match=r"audit_accepted\.toml: TOML inválido"):
        _accepted(path)


def test_operator_star_accepts_every_survivor_of_the_function():
    assert Accepted("fit_cnn", "why", operator="*").matches(mutant(operator="arith"))
    assert not Accepted("fit_cnn", "why", operator="*").matches(mutant(function="SmallCNN"))
