"""Builds ``tp1.ipynb`` (the notebook version of the TP1 starter) from ``tp1.py``.

``tp1.py`` is the single source of truth for the code: every code cell of the notebook is copied
from it (its imports, then each exercise's definitions, grouped and ordered as the exercises of
``../assignment.toml``). This script only adds the Spanish markdown around them: the introduction
and conventions (from the module docstring), one explanation with the formulas per exercise (below)
and a closing cell on how to check the work. It fails if a name of ``tp1.py`` would be left out of
the notebook or an exercise's function is missing from ``tp1.py``.

Usage (from the repository root)::

    .venv/bin/python assignments/tp1/starter/make_notebook.py          # writes tp1.ipynb
    .venv/bin/python assignments/tp1/starter/make_notebook.py --check  # exit 1 if out of date
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
STARTER = HERE / "tp1.py"
NOTEBOOK = HERE / "tp1.ipynb"
ASSIGNMENT = HERE.parent / "assignment.toml"

# Per exercise (keyed as in assignment.toml): the explanation shown above its code cell.
EXPLANATIONS: dict[str, str] = {
    "linear": r"""
Una capa lineal (afín) transforma cada fila de $x \in \mathbb{R}^{N \times D}$ con
$W \in \mathbb{R}^{D \times M}$ y $b \in \mathbb{R}^{M}$:

$$\text{out} = x W + b \qquad (N \times M)$$

Con $\text{dout} = \partial L / \partial \text{out}$, la regla de la cadena da

$$dx = \text{dout}\, W^\top, \qquad dW = x^\top \text{dout}, \qquad
db = \sum_{i=1}^{N} \text{dout}_{i,:}$$

En numpy: `dx = dout @ W.T`, `dW = x.T @ dout`, `db = dout.sum(axis=0)`. El sesgo se usa en las
$N$ filas, así que sus gradientes se **suman**, no se promedian.
""",
    "relu": r"""
$$\mathrm{ReLU}(x) = \max(x, 0), \qquad dx = \text{dout} \odot \mathbb{1}[x > 0]$$

Elemento a elemento y para cualquier forma. En $x = 0$ la derivada se toma como 0 (como PyTorch).
No modifiques `x` (nada de `x[x < 0] = 0` sobre la entrada).
""",
    "leaky_relu": r"""
$$\mathrm{LeakyReLU}(x) = \begin{cases} x & x > 0 \\ \alpha x & x \le 0 \end{cases}, \qquad
dx = \begin{cases} \text{dout} & x > 0 \\ \alpha\, \text{dout} & x \le 0 \end{cases}$$

con $\alpha$ = `alpha` (0.01 por defecto). Guardá `alpha` en el cache: el backward lo necesita.
""",
    "sigmoid": r"""
$$\sigma(x) = \frac{1}{1 + e^{-x}}, \qquad \sigma'(x) = \sigma(x)\,(1 - \sigma(x))$$

así que $dx = \text{dout} \odot s \odot (1 - s)$ con $s$ la salida del forward.

Tiene que ser **estable** para $|x|$ hasta $10^3$: `np.exp(1000)` desborda. Con $z = e^{-|x|} \le 1$
(que nunca desborda): $\sigma(x) = 1 / (1 + z)$ si $x \ge 0$ y $\sigma(x) = z / (1 + z)$ si $x < 0$.
""",
    "tanh": r"""
$$\text{out} = \tanh(x), \qquad \frac{d \tanh(x)}{dx} = 1 - \tanh^2(x)$$

así que $dx = \text{dout} \odot (1 - \text{out}^2)$. Podés usar `np.tanh`.
""",
    "softmax": r"""
Sobre el último eje de los scores $s \in \mathbb{R}^{N \times C}$, con $m_i = \max_k s_{ik}$:

$$p_{ij} = \frac{e^{s_{ij}}}{\sum_k e^{s_{ik}}} = \frac{e^{s_{ij} - m_i}}{\sum_k e^{s_{ik} - m_i}}$$

Restar el máximo de cada fila no cambia el resultado y evita el overflow con logits de magnitud
$10^3$.
""",
    "cross_entropy": r"""
Con $p = \mathrm{softmax}(s)$ y etiquetas enteras $y \in \{0, \dots, C-1\}^N$, promediada sobre el
batch (igual que `torch.nn.functional.cross_entropy`):

$$L = -\frac{1}{N} \sum_{i=1}^{N} \log p_{i, y_i}, \qquad
\log p_{ij} = s_{ij} - m_i - \log \sum_k e^{s_{ik} - m_i}$$

(log-sum-exp: estable). El gradiente respecto de los scores es

$$\frac{\partial L}{\partial s} = \frac{p - Y}{N}$$

con $Y$ el one-hot de $y$. Devolvé `(loss, dscores)` con `loss` un float.
""",
    "bce": r"""
Para logits $z$ (cualquier forma) y objetivos $y \in \{0, 1\}$ de la misma forma, con $n$ la
cantidad total de elementos (`z.size`):

$$L = \frac{1}{n} \sum -y \log \sigma(z) - (1 - y) \log(1 - \sigma(z))
    = \frac{1}{n} \sum \max(z, 0) - z\,y + \log\left(1 + e^{-|z|}\right)$$

La segunda forma es estable para $|z|$ hasta $10^3$ (`np.log1p` ayuda). El gradiente es

$$\frac{\partial L}{\partial z} = \frac{\sigma(z) - y}{n}$$

Es lo mismo que `torch.nn.functional.binary_cross_entropy_with_logits`.
""",
    "mse": r"""
Con $n$ la cantidad total de elementos (igual que `torch.nn.functional.mse_loss`):

$$L = \frac{1}{n} \sum (\text{pred} - \text{target})^2, \qquad
\frac{\partial L}{\partial\, \text{pred}} = \frac{2\,(\text{pred} - \text{target})}{n}$$
""",
    "sgd": r"""
**Reglas de actualización.** Todas reciben los pesos `w`, su gradiente `dw` y un diccionario
`config` con los hiperparámetros y el estado, y devuelven `(next_w, config)`. Si `config` es
`None`, creá uno nuevo; completá los valores por defecto que falten con `config.setdefault(...)`
(sin pisar los que vinieron). El estado vuelve dentro de `config` para el paso siguiente. No
modifiques `w`: devolvé un array nuevo.

SGD, con `learning_rate` $\eta$ = 1e-2 por defecto:

$$w \leftarrow w - \eta\, dw$$
""",
    "momentum": r"""
SGD con momentum. Defaults: `learning_rate` $\eta$ = 1e-2, `momentum` $\mu$ = 0.9; la velocidad
`config["velocity"]` arranca en ceros.

$$v \leftarrow \mu v - \eta\, dw, \qquad w \leftarrow w + v$$
""",
    "rmsprop": r"""
RMSProp. Defaults: `learning_rate` $\eta$ = 1e-2, `decay_rate` $\rho$ = 0.99, `epsilon`
$\epsilon$ = 1e-8; `config["cache"]` arranca en ceros.

$$c \leftarrow \rho\, c + (1 - \rho)\, dw^2, \qquad w \leftarrow w - \eta\, \frac{dw}{\sqrt{c} + \epsilon}$$
""",
    "adam": r"""
Adam. Defaults: `learning_rate` $\eta$ = 1e-3, `beta1` $\beta_1$ = 0.9, `beta2` $\beta_2$ = 0.999,
`epsilon` $\epsilon$ = 1e-8; el estado `m`, `v` arranca en ceros y `t` en 0. En este orden:

$$t \leftarrow t + 1, \qquad m \leftarrow \beta_1 m + (1 - \beta_1)\, dw, \qquad
v \leftarrow \beta_2 v + (1 - \beta_2)\, dw^2$$

$$\hat m = \frac{m}{1 - \beta_1^t}, \qquad \hat v = \frac{v}{1 - \beta_2^t}, \qquad
w \leftarrow w - \eta\, \frac{\hat m}{\sqrt{\hat v} + \epsilon}$$
""",
    "mlp": r"""
Un MLP con `layer_dims = [D, H1, ..., C]` encadena $L$ = `len(layer_dims) - 1` capas lineales con
la activación elegida (`"relu"`, `"tanh"` o `"sigmoid"`) entre ellas y **ninguna** después de la
última:

$$h_0 = X, \qquad h_i = f(h_{i-1} W_i + b_i) \;\; (i < L), \qquad \text{scores} = h_{L-1} W_L + b_L$$

**Inicialización de He**: con `rng = np.random.default_rng(seed)` y capa por capa, en orden,
$W_i \sim \mathcal{N}(0,\, 2 / \text{fan\_in})$, es decir
`rng.standard_normal((fan_in, fan_out)) * np.sqrt(2 / fan_in)`, y $b_i = 0$.

`loss(X)` devuelve los scores; `loss(X, y)` devuelve `(loss, grads)` con la entropía cruzada con
softmax y los gradientes obtenidos con los backward de tus capas, en orden inverso. Usá las
funciones que ya escribiste.
""",
    "train": r"""
El bucle de entrenamiento por minibatches. `train` actualiza `model.params` en el lugar con la
regla de actualización de nombre `optimizer` (`"sgd"`, `"sgd_momentum"`, `"rmsprop"` o `"adam"`),
un `config` por parámetro que arranca como `{"learning_rate": learning_rate}`, y una permutación
nueva de los ejemplos en cada época sacada de `rng = np.random.default_rng(seed)`.

`history["loss"]` tiene una entrada por época: la pérdida media de entrenamiento (el promedio de
las pérdidas de los minibatches ponderado por su tamaño).

Con los dígitos de scikit-learn estandarizados, `MLP([64, 64, 10])` y `train(model, X, y,
optimizer="adam", learning_rate=1e-3, batch_size=32, epochs=30)` deberías pasar el 95 % de
aciertos en test en unos segundos.
""",
    "xor": r"""
XOR no es linealmente separable: una red sin capa oculta no puede resolverlo, pero una 2-2-1 sí.

$$h = \sigma(X W_1 + b_1), \qquad \text{out} = \sigma(h W_2 + b_2), \qquad
L = \frac{1}{4} \sum (\text{out} - t)^2$$

con $X = \{(0,0), (0,1), (1,0), (1,1)\}$ y $t = (0, 1, 1, 0)$. Entrenala con descenso por
gradiente de batch completo (o con tu `adam`) desde pesos sorteados con
`np.random.default_rng(seed)`. Con dos neuronas ocultas algunas inicializaciones quedan atrapadas
en un mínimo local: si pasa, volvé a empezar desde otra inicialización del mismo `rng`.

Tiene que dar `out > 0.5` para $(0,1)$ y $(1,0)$ y `out < 0.5` para $(0,0)$ y $(1,1)$.
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
            raise SystemExit(f"tp1.py:{node.lineno}: unexpected top-level statement; the notebook "
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
                             "not defined in tp1.py")
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
        raise SystemExit(f"tp1.py defines {left_out}, which no exercise of assignment.toml lists")

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
        raise SystemExit(f"the notebook defines {sorted(names)}, tp1.py {sorted(expected)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="do not write; exit 1 if tp1.ipynb is not what tp1.py generates")
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
