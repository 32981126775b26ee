"""svm-digits: the best normalized regret any configuration reaches, for the target check of
docs/benchmarks/default-optimizer.md. Prints the validation error of C = 1.509, gamma = 0.1315
(a point with no validation error, the problem's optimum f* = 0) and the errors on a 13 x 13
grid of log C and log gamma within +-1.5 of it, to show how small the zero-error region is.

Run: ``nice -n 10 .venv/bin/python benchmarks/default_svm_floor.py`` (about 170 SVM fits).
"""

import math

import numpy as np

from lowfi import benchmarks


def main() -> None:
    b = benchmarks.get("svm-digits")
    c0, g0 = math.log(1.509), math.log(0.1315)
    err0 = b.test_loss({"C": 1.509, "gamma": 0.1315})
    print("C=1.509, gamma=0.1315: validation error", err0, "normalized regret",
          (err0 - b.optimum) / (b.f_rand - b.optimum))
    L = np.linspace(-1.5, 1.5, 13)
    G = np.array([[b.test_loss({"C": math.exp(c0 + dc), "gamma": math.exp(g0 + dg)}) for dg in L] for dc in L])
    err = np.rint(G * 447).astype(int)
    print("13 x 13 grid, log C and log gamma within +-1.5 of that point: errors (of 447) per cell:")
    print(err)
    print("cells with 0 errors:", int((err == 0).sum()), "of", err.size, "; with 1 error:", int((err == 1).sum()))
    area = (err == 0).sum() * (3 / 12) ** 2 / 20 ** 2
    print(f"0-error area ~ {area:.2e} of the search box (log C, log gamma in [-10, 10])")


if __name__ == "__main__":
    main()
