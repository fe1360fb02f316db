"""Builds ``tp2.ipynb`` (the notebook version of the TP2 starter) from ``tp2.py``.

``tp2.py`` is the single source of truth for the code: every code cell of the notebook is copied
from it (its imports, then each exercise's definitions, grouped and ordered as the exercises of
``../assignment.toml``). This script only adds the Spanish markdown around them: the introduction
and conventions (from the module docstring), one explanation with the formulas per exercise (below)
and a closing cell on how to check the work. It fails if a name of ``tp2.py`` would be left out of
the notebook or an exercise's function is missing from ``tp2.py``.

Usage (from the repository root)::

    .venv/bin/python assignments/tp2/starter/make_notebook.py          # writes tp2.ipynb
    .venv/bin/python assignments/tp2/starter/make_notebook.py --check  # exit 1 if out of date
"""

from __future__ import annotations

import argparse
import ast
import re
import sys
import tomllib
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent
STARTER = HERE / "tp2.py"
NOTEBOOK = HERE / "tp2.ipynb"
ASSIGNMENT = HERE.parent / "assignment.toml"

# Per exercise (keyed as in assignment.toml): the explanation shown above its code cell.
EXPLANATIONS: dict[str, str] = {
    "batchnorm": r"""
Batch norm normaliza cada columna de $x \in \mathbb{R}^{N \times D}$ con la media y la varianza
**sesgada** del batch, y después escala y desplaza:

$$\mu = \frac{1}{N}\sum_i x_i, \qquad \sigma^2 = \frac{1}{N}\sum_i (x_i - \mu)^2, \qquad
\hat{x} = \frac{x - \mu}{\sqrt{\sigma^2 + \varepsilon}}, \qquad
\text{out} = \gamma \odot \hat{x} + \beta$$

Fijate que $\varepsilon$ va **dentro** de la raíz. En modo `"train"` además se actualizan las
estadísticas móviles como PyTorch (`momentum` es el peso del valor nuevo; la varianza móvil usa la
varianza **insesgada**):

$$\text{running\_mean} \leftarrow (1 - m)\,\text{running\_mean} + m\,\mu, \qquad
\text{running\_var} \leftarrow (1 - m)\,\text{running\_var} + m\,\frac{N}{N - 1}\sigma^2$$

y se guardan en `bn_param`. En modo `"test"` se normaliza con las estadísticas móviles, sin
cambiarlas.

El backward incluye el camino por $\mu$ y $\sigma^2$. Con $g = \text{dout} \odot \gamma$:

$$d\beta = \sum_i \text{dout}_i, \qquad d\gamma = \sum_i \text{dout}_i \odot \hat{x}_i, \qquad
dx = \frac{1}{N\sqrt{\sigma^2 + \varepsilon}}
\Big(N g - \sum_i g_i - \hat{x} \odot \sum_i g_i \odot \hat{x}_i\Big)$$
""",
    "dropout": r"""
Dropout **invertido** con probabilidad de anular $p$ (`p_drop`, como `nn.Dropout(p)`): con una
máscara $m_{ij} \sim \mathrm{Bernoulli}(1 - p)$ sorteada con `np.random.default_rng(seed)`,

$$\text{out} = \frac{m \odot x}{1 - p}, \qquad dx = \frac{m \odot \text{dout}}{1 - p}$$

Así $\mathbb{E}[\text{out}] = x$ y en modo `"test"` la capa es la identidad (su backward también).
El backward usa **la misma** máscara que el forward (guardala en el cache).
""",
    "l2": r"""
La penalización L2 (weight decay) suma, para cada parámetro cuya clave empieza con `"W"`,

$$L_{\text{reg}} = \frac{\lambda}{2} \sum_k \lVert W_k \rVert^2, \qquad
\frac{\partial L_{\text{reg}}}{\partial W_k} = \lambda W_k$$

con $\lambda$ = `reg`. Los sesgos (y cualquier otro parámetro) no se penalizan: su gradiente es
cero, pero igual tiene que estar en `grads`.
""",
    "embedding": r"""
Una tabla de embeddings $W \in \mathbb{R}^{V \times D}$ convierte índices en vectores:
$\text{out}_{n,t} = W_{\text{idx}_{n,t}}$, de forma $(N, T, D)$. El gradiente es

$$dW_v = \sum_{(n, t):\ \text{idx}_{n,t} = v} \text{dout}_{n,t}$$

Un índice repetido **acumula**: `dW[idx] += dout` no sirve (numpy escribe una sola vez por índice
repetido); usá `np.add.at`. `dW` tiene el dtype de `W` (float64), no el de `idx`.
""",
    "linear_function": r"""
`torch.autograd.Function` te deja definir una operación con su propio backward. Para
$\text{out} = xW + b$ con $W \in \mathbb{R}^{D \times M}$ (como en el TP1):

$$dx = \text{dout}\, W^\top, \qquad dW = x^\top \text{dout}, \qquad db = \sum_i \text{dout}_{i,:}$$

En `forward` guardá lo necesario con `ctx.save_for_backward(x, W)`; en `backward` recuperalo con
`ctx.saved_tensors` y devolvé `(dx, dW, db)` calculados a mano, sin autograd adentro.
""",
    "mlp_classifier": r"""
Un `nn.Module` que arma, por cada ancho $h$ de `hidden`:
`Linear(prev, h)` → `BatchNorm1d(h)` (si `batchnorm`) → `ReLU` → `Dropout(p_drop)` (si
`p_drop > 0`), y al final `Linear(prev, n_classes)`. Devuelve logits (sin softmax: la
`CrossEntropyLoss` ya la incluye). La cantidad de parámetros es
$\sum (\text{prev}\cdot h + h)$ de las Linear más $2h$ por cada BatchNorm1d.

Recordá: `model.train()` activa dropout y hace que batch norm use las estadísticas del batch (y
actualice las móviles); `model.eval()` apaga dropout y usa las móviles.
""",
    "train_loop": r"""
`train_one_epoch`: `model.train()` y, por batch, `optimizer.zero_grad()`, pérdida, `backward()`,
`optimizer.step()`. Devuelve la pérdida media **por muestra**:

$$\bar{L} = \frac{\sum_b n_b L_b}{\sum_b n_b}$$

con $n_b$ el tamaño del batch $b$ (el último puede ser más chico: el promedio de los promedios
no es lo mismo). `evaluate`: `model.eval()` y `torch.no_grad()`; devuelve la pérdida media por
muestra y la exactitud como fracción en $[0, 1]$. No toca pesos ni gradientes.
""",
    "fit_classifier": r"""
Elegí la arquitectura y el entrenamiento (por ejemplo tu `MLPClassifier` con Adam y unas decenas
de épocas). Tiene que entrenar en menos de 60 s en 2 núcleos de CPU. Se mide la exactitud sobre
datos reservados: puntaje completo desde un objetivo (medido con varias soluciones razonables,
con margen) y parcial entre un mínimo y ese objetivo.
""",
    "fit_recommender": r"""
Factorización de matrices con embeddings: para el usuario $u$ y el ítem $i$,

$$\hat{r}_{ui} = \langle p_u, q_i \rangle + b_u + b_i + \mu$$

Entrená minimizando el error cuadrático medio (más una penalización L2 chica sobre los
embeddings, para no sobreajustar). Se mide la RMSE sobre pares reservados: puntaje completo desde
un objetivo y parcial entre predecir la media global y ese objetivo.
""",
}

CHECKING_NOTEBOOK = """
**Trabajando en Colab o Jupyter.** Las comprobaciones corren todas las celdas de código del
notebook en orden, como si fueran un archivo `.py` (las líneas que empiezan con `!` o `%` se
ignoran). Por eso:

- no cambies los nombres ni las firmas de las funciones;
- dejá las pruebas largas (entrenar muchas épocas, graficar) fuera de las celdas con funciones, o
  hacelas livianas: se ejecutan cada vez que se corrigen tus funciones;
- en Colab, descargá el notebook con *Archivo → Descargar → Descargar .ipynb* y entregá ese
  archivo.
"""


def docstring_sections(doc: str) -> tuple[str, dict[str, str]]:
    """Splits an RST-style module docstring into its opening and its underlined sections."""
    lines = doc.strip("\n").splitlines()
    opening: list[str] = []
    sections: dict[str, list[str]] = {}
    current = opening
    i = 0
    while i < len(lines):
        if i + 1 < len(lines) and re.fullmatch(r"-{3,}", lines[i + 1]) and lines[i].strip():
            current = sections.setdefault(lines[i].strip(), [])
            i += 2
            continue
        current.append(lines[i])
        i += 1
    return "\n".join(opening).strip(), {k: "\n".join(v).strip() for k, v in sections.items()}


def rst_to_markdown(text: str) -> str:
    """The little RST the starter's docstring uses: ``code``, ``::`` literal blocks, bullets."""
    out: list[str] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = re.sub(r"``([^`]+)``", r"`\1`", lines[i])
        if line.rstrip().endswith("::"):
            out.append(line.rstrip()[:-2].rstrip() + ":")
            i += 1
            block: list[str] = []
            while i < len(lines) and (not lines[i].strip() or lines[i].startswith("    ")):
                block.append(lines[i][4:])
                i += 1
            out += ["", "```bash", *[b for b in block if b.strip()], "```", ""]
            continue
        out.append(line)
        i += 1
    return "\n".join(out).strip()


def starter_parts() -> tuple[str, str, dict[str, str]]:
    """The starter's docstring, its import lines, and each top-level definition's source."""
    source = STARTER.read_text(encoding="utf-8")
    lines = source.splitlines()
    tree = ast.parse(source)
    docstring = ast.get_docstring(tree, clean=True) or ""
    imports: list[str] = []
    definitions: dict[str, str] = {}
    for node in tree.body:
        segment = "\n".join(lines[node.lineno - 1:node.end_lineno])
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            imports.append(segment)
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            definitions[node.name] = segment
        elif not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)):
            raise SystemExit(f"tp2.py:{node.lineno}: unexpected top-level statement; the notebook "
                             "generator only knows imports, functions and classes")
    return docstring, "\n".join(imports), definitions


def build() -> nbformat.NotebookNode:
    docstring, imports, definitions = starter_parts()
    exercises = tomllib.loads(ASSIGNMENT.read_text(encoding="utf-8"))["exercise"]
    opening, sections = docstring_sections(docstring)
    title, _, description = opening.partition("\n")

    intro = [f"# {title.strip().rstrip('.')}", "", rst_to_markdown(description)]
    intro += ["", "## Convenciones (valen para todo el TP)", "",
              rst_to_markdown(sections["Convenciones (valen para todo el TP)"])]
    cells = [new_markdown_cell("\n".join(intro), id="intro"),
             new_code_cell(imports, id="imports")]

    used: list[str] = []
    for number, exercise in enumerate(exercises, start=1):
        name, points = exercise["name"], exercise["points"]
        missing = [f for f in exercise["functions"] if f not in definitions]
        if missing:
            raise SystemExit(f"assignment.toml: exercise {name!r} names {missing}, "
                             "not defined in tp2.py")
        if name not in EXPLANATIONS:
            raise SystemExit(f"make_notebook.py: no explanation for exercise {name!r}")
        unit = "punto" if points == 1 else "puntos"
        header = f"## Ejercicio {number}: {exercise['title']} ({points} {unit})\n"
        cells.append(new_markdown_cell(header + EXPLANATIONS[name].rstrip(), id=f"ej-{name}-md"))
        code = "\n\n\n".join(definitions[f] for f in exercise["functions"])
        cells.append(new_code_cell(code, id=f"ej-{name}"))
        used += exercise["functions"]

    left_out = sorted(set(definitions) - set(used))
    if left_out:
        raise SystemExit(f"tp2.py defines {left_out}, which no exercise of assignment.toml lists")

    closing = ["## Cómo comprobar tu trabajo", "",
               rst_to_markdown(sections["Cómo comprobar tu trabajo"]), "",
               CHECKING_NOTEBOOK.strip()]
    cells.append(new_markdown_cell("\n".join(closing), id="comprobar"))

    notebook = new_notebook(cells=cells, metadata={
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    })
    nbformat.validate(notebook)
    _check_same_names(notebook, set(definitions))
    return notebook


def _check_same_names(notebook: nbformat.NotebookNode, expected: set[str]) -> None:
    code = "\n\n".join(c.source for c in notebook.cells if c.cell_type == "code")
    tree = ast.parse(code)
    names = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    if names != expected:
        raise SystemExit(f"the notebook defines {sorted(names)}, tp2.py {sorted(expected)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="do not write; exit 1 if tp2.ipynb is not what tp2.py generates")
    args = parser.parse_args(argv)
    text = nbformat.writes(build()) + "\n"
    if args.check:
        current = NOTEBOOK.read_text(encoding="utf-8") if NOTEBOOK.is_file() else ""
        if current != text:
            print(f"{NOTEBOOK.name} is out of date: run {Path(__file__).name}", file=sys.stderr)
            return 1
        print(f"{NOTEBOOK.name} is up to date")
        return 0
    NOTEBOOK.write_text(text, encoding="utf-8")
    print(f"wrote {NOTEBOOK}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
