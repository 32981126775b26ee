"""Integrations with other libraries: a scikit-learn search estimator (``LowfiSearchCV``)."""


def __getattr__(name):  # keep `import lowfi.integrations` light
    if name == "LowfiSearchCV":
        from lowfi.integrations.sklearn import LowfiSearchCV

        return LowfiSearchCV
    raise AttributeError(f"module 'lowfi.integrations' has no attribute {name!r}")


__all__ = ["LowfiSearchCV"]
