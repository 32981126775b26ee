"""History records."""


def test_records_keep_the_objectives_info_apart_from_the_schedulers():
    import lowfi
    from lowfi.core.history import History
    from lowfi.space import Space

    h = History(Space({"x": (0.0, 1.0)}))
    t = lowfi.Trial(0, {"x": 0.5}, 1.0, 0, {"bracket": 2})
    rec = h.finish(t, lowfi.Result(0.3, info={"test_error": 0.25}))
    assert rec.info == {"bracket": 2} and rec.result_info == {"test_error": 0.25}
