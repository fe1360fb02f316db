"""Builds ``tp3.ipynb`` (the notebook version of the TP3 starter) from ``tp3.py``.

``tp3.py`` is the single source of truth for the code: every code cell of the notebook is copied
from it (its imports, then each exercise's definitions, grouped and ordered as the exercises of
``../assignment.toml``). This script only adds the Spanish markdown around them: the introduction
and conventions (from the module docstring), one explanation with the formulas per exercise (below)
and a closing cell on how to check the work. It fails if a name of ``tp3.py`` would be left out of
the notebook or an exercise's function is missing from ``tp3.py``.

Usage (from the repository root)::

    .venv/bin/python assignments/tp3/starter/make_notebook.py          # writes tp3.ipynb
    .venv/bin/python assignments/tp3/starter/make_notebook.py --check  # exit 1 if out of date
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
STARTER = HERE / "tp3.py"
NOTEBOOK = HERE / "tp3.ipynb"
ASSIGNMENT = HERE.parent / "assignment.toml"

# Per exercise (keyed as in assignment.toml): the explanation shown above its code cell.
EXPLANATIONS: dict[str, str] = {
    "conv": r"""
Una capa convolucional aplica $F$ filtros $w \in \mathbb{R}^{F \times C \times HH \times WW}$ a
imágenes $x \in \mathbb{R}^{N \times C \times H \times W}$. Con $x_p$ la entrada con `pad` ceros de
cada lado y $s$ el `stride`:

$$\text{out}_{n,f,i,j} = b_f + \sum_{c=1}^{C} \sum_{p=0}^{HH-1} \sum_{q=0}^{WW-1}
x_{p\,[n,\,c,\,i s + p,\,j s + q]}\; w_{f,c,p,q}$$

$$H' = 1 + \frac{H + 2\,\text{pad} - HH}{s}, \qquad W' = 1 + \frac{W + 2\,\text{pad} - WW}{s}
\quad \text{(división entera)}$$

Es una **correlación cruzada**, como `torch.nn.functional.conv2d`: el kernel no se da vuelta.

Backward: cada ventana de $x_p$ aportó a una salida, así que

$$dw_f = \sum_{n,i,j} \text{dout}_{n,f,i,j}\, \text{ventana}_{n,i,j}, \qquad
dx_{p\,[\text{ventana}_{n,i,j}]} \mathrel{+}= \sum_f \text{dout}_{n,f,i,j}\, w_f, \qquad
db_f = \sum_{n,i,j} \text{dout}_{n,f,i,j}$$

Con `stride` menor que el kernel las ventanas se superponen: acumulá con `+=`. Al final quitá el
padding de $dx_p$; ojo, con `pad = 0` el recorte `[pad:-pad]` da un array vacío
(`[pad:pad + H]` funciona siempre).
""",
    "maxpool": r"""
Max pooling sin padding, con ventanas de `kernel` $\times$ `kernel` y paso `stride`:

$$\text{out}_{n,c,i,j} = \max_{0 \le p, q < k} x_{n,\,c,\,i s + p,\,j s + q}, \qquad
H' = 1 + \frac{H - k}{s}$$

(como `torch.nn.functional.max_pool2d`). El backward manda cada $\text{dout}_{n,c,i,j}$ **solo**
a la posición del máximo de su ventana; con empates, al primer máximo en orden fila por fila (el
de `np.argmax` sobre la ventana aplanada). Si las ventanas se superponen (`stride < kernel`),
una posición puede recibir gradiente de varias ventanas: se suman.
""",
    "rnn_step": r"""
Un paso de una RNN con $x \in \mathbb{R}^{N \times D}$, $W_x \in \mathbb{R}^{D \times H}$,
$W_h \in \mathbb{R}^{H \times H}$ y $b \in \mathbb{R}^{H}$:

$$h = \tanh(x W_x + h_{\text{prev}} W_h + b)$$

Con $da = dh \odot (1 - h^2)$:

$$dx = da\, W_x^\top, \quad dh_{\text{prev}} = da\, W_h^\top, \quad dW_x = x^\top da, \quad
dW_h = h_{\text{prev}}^\top da, \quad db = \sum_i da_{i,:}$$

En PyTorch (`nn.RNN`): $W_x$ = `weight_ih_l0.T`, $W_h$ = `weight_hh_l0.T`,
$b$ = `bias_ih_l0 + bias_hh_l0`.
""",
    "rnn": r"""
La RNN sobre una secuencia $x \in \mathbb{R}^{N \times T \times D}$ aplica el paso $T$ veces con
los **mismos** pesos: $h_t = \tanh(x_t W_x + h_{t-1} W_h + b)$, desde $h_{-1} = h_0$, y devuelve
todos los $h_t$ en $h \in \mathbb{R}^{N \times T \times H}$.

**BPTT.** `dh[:, t]` es el gradiente que llega de afuera a $h_t$, pero $h_t$ también influye en
$h_{t+1}$. Yendo de $t = T-1$ a $0$:

$$\overline{dh}_t = dh_t + dh_{\text{prev}}^{(t+1)}, \qquad
(dx_t,\; dh_{\text{prev}}^{(t)},\; dW_x^{(t)},\; dW_h^{(t)},\; db^{(t)}) =
\text{rnn\_step\_backward}(\overline{dh}_t)$$

$$dW_x = \sum_t dW_x^{(t)}, \quad dW_h = \sum_t dW_h^{(t)}, \quad db = \sum_t db^{(t)}, \quad
dh_0 = dh_{\text{prev}}^{(0)}$$

Los gradientes de los pesos se **suman** sobre los pasos (no se pisan).
""",
    "lstm_step": r"""
Un paso de LSTM. La preactivación $a = x W_x + h_{\text{prev}} W_h + b \in \mathbb{R}^{N \times 4H}$
se parte en cuatro bloques de $H$ columnas **en el orden de PyTorch** $i, f, g, o$:

$$i = \sigma(a_{[:, 0:H]}), \quad f = \sigma(a_{[:, H:2H]}), \quad g = \tanh(a_{[:, 2H:3H]}),
\quad o = \sigma(a_{[:, 3H:4H]})$$

$$c = f \odot c_{\text{prev}} + i \odot g, \qquad h = o \odot \tanh(c)$$

(Algunos cursos usan el orden $i, f, o, g$: acá no.) Backward, con $dh$ y $dc$ los gradientes que
llegan:

$$\overline{dc} = dc + dh \odot o \odot (1 - \tanh^2 c), \qquad dc_{\text{prev}} = \overline{dc} \odot f$$

$$di = \overline{dc} \odot g, \quad df = \overline{dc} \odot c_{\text{prev}}, \quad
dg = \overline{dc} \odot i, \quad do = dh \odot \tanh c$$

y de ahí $da$ con $\sigma' = \sigma(1 - \sigma)$ y $\tanh' = 1 - \tanh^2$. No hagas `dc += ...`
sobre el argumento: modificarías el array de quien te llamó.
""",
    "lstm": r"""
La LSTM sobre $x \in \mathbb{R}^{N \times T \times D}$, desde $h_0$ y $c_0 = 0$, devuelve todos
los $h_t$. En el BPTT viajan dos gradientes de $t + 1$ a $t$: el de $h$ (sumado a `dh[:, t]`, como
en la RNN) y el de $c$ (al último paso le llega $dc = 0$):

$$(dx_t,\, dh_{\text{prev}},\, dc_{\text{prev}},\, \dots) =
\text{lstm\_step\_backward}(dh_t + dh_{\text{prev}}^{(t+1)},\; dc_{\text{prev}}^{(t+1)})$$
""",
    "attention": r"""
Con consultas $q \in \mathbb{R}^{N \times T_q \times d}$, claves $k \in \mathbb{R}^{N \times T_k
\times d}$ y valores $v \in \mathbb{R}^{N \times T_k \times d_v}$:

$$\text{scores} = \frac{q k^\top}{\sqrt{d}}, \qquad
\text{attn} = \mathrm{softmax}_{\text{claves}}(\text{scores}), \qquad \text{out} = \text{attn}\; v$$

El softmax es sobre el último eje (las $T_k$ claves de cada consulta) y la escala es $\sqrt{d}$
(la dimensión de $q$ y $k$, no la de $v$).

La máscara booleana (`True` = puede mirar) se aplica **antes** del softmax: las claves con `False`
quedan con peso 0. Puede tener cualquier forma que se difunda a $(N, T_q, T_k)$: $(T_q, T_k)$ para
la máscara causal `np.tril(np.ones((Tq, Tk), dtype=bool))`, $(N, 1, T_k)$ para el padding, etc.
Si una consulta no puede mirar ninguna clave, sus pesos y su salida son 0 (no nan).
""",
    "small_cnn": r"""
**Parte PyTorch.** Una CNN chica para los dígitos $8 \times 8$ de scikit-learn, entrada
$(N, 1, 8, 8)$ float32. La arquitectura es libre; una que anda bien:

`Conv2d(1, 16, 3, padding=1)` → ReLU → `Conv2d(16, 32, 3, padding=1)` → ReLU → `MaxPool2d(2)` →
`Flatten` → `Linear(32 * 4 * 4, 64)` → ReLU → `Linear(64, n_classes)`.

El forward devuelve **logits** $(N, n_{\text{classes}})$: nada de softmax al final
(`F.cross_entropy` aplica log-softmax por dentro).
""",
    "fit_cnn": r"""
Entrená una `SmallCNN` con Adam y `F.cross_entropy` por minibatches barajados, en el `device`
pedido (`model.to(device)` y cada batch `.to(device)`), y devolvela. Fijá la semilla con
`torch.manual_seed(seed)` antes de crear el modelo. Las comprobaciones la ponen en modo eval y
miden la exactitud en dígitos que no vio: el puntaje completo es desde 90 %; con 80 % o menos no
suma (entre medio, proporcional). Unas 10 épocas alcanzan y tardan unos segundos.
""",
    "seq_regressor": r"""
Un modelo recurrente: una capa `nn.RNN`, `nn.LSTM` o `nn.GRU` (según `cell`) con
`batch_first=True` y `hidden_size=hidden`, y una capa lineal que, desde el último estado oculto,
predice los `n_out` valores:

$$h_{1..T} = \text{cell}(x), \qquad \hat y = h_T W + b \in \mathbb{R}^{N \times n_{\text{out}}}$$

Sin `batch_first=True`, PyTorch lee `(N, T, D)` como `(T, N, D)`: mezcla las series del batch.
""",
    "fit_seq_regressor": r"""
Las series son la suma de dos senos de frecuencias y fases al azar más ruido; el modelo ve los
primeros 50 valores y predice los 10 siguientes. Entrená un `SeqRegressor` con Adam y
`F.mse_loss` en el `device` pedido y devolvelo. La referencia a superar es una regresión lineal
por mínimos cuadrados desde los 50 valores: el puntaje completo es con un MSE de 0.9 veces el de
la regresión lineal o menos; si no la mejora, no suma. Un *learning rate* que sube y baja
(`torch.optim.lr_scheduler.OneCycleLR`) y recortar la norma del gradiente
(`nn.utils.clip_grad_norm_`) ayudan a que el entrenamiento sea estable.
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
            raise SystemExit(f"tp3.py:{node.lineno}: unexpected top-level statement; the notebook "
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
                             "not defined in tp3.py")
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
        raise SystemExit(f"tp3.py defines {left_out}, which no exercise of assignment.toml lists")

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
        raise SystemExit(f"the notebook defines {sorted(names)}, tp3.py {sorted(expected)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="do not write; exit 1 if tp3.ipynb is not what tp3.py generates")
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
