class NoColonMixin:
    """Labels sit above their fields (or after a checkbox): no trailing colon."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
