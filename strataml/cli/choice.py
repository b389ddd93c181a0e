"""The one option type for a fixed set of values: click's Choice, with the value a slip meant."""

from __future__ import annotations

from typing import Any

import click


class Choice(click.Choice):
    """click.Choice whose refusal adds "did you mean" (`--format jsn`, `schema Run`), as a
    mistyped option or command already gets."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        try:
            return super().convert(value, param, ctx)
        except click.BadParameter as exc:
            from strataml.spelling import nearest

            close = nearest(str(value), [str(c) for c in self.choices])
            if not close:
                raise
            self.fail(f"{exc.message.rstrip('.')}; did you mean {close[0]!r}?", param, ctx)
