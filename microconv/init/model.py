"""What ``init`` guesses, as plain data: the guessing modules produce these, the YAML writer and the
command line read them, so none of them depends on another's internals."""
from __future__ import annotations

from dataclasses import dataclass, field

@dataclass(frozen=True)
class EventCount:
    """An event name and its rows: the counts the funnel is guessed from and the YAML lists."""

    name: str
    rows: int


@dataclass(frozen=True)
class GuessedConversion:
    """A conversion to write: its YAML name, kind, event names and why it was chosen."""

    name: str
    kind: str
    events: tuple[str, ...]
    why: str = ""


@dataclass
class ColumnGuess:
    """Column names per role, as alias lists (one entry unless files name a role differently)."""

    user: list[str]
    event: list[str]
    timestamp: list[str]
    session: list[str] = field(default_factory=list)
    revenue: str | None = None          # a column, or column.key inside JSON-object strings
    segments: list[str] = field(default_factory=list)   # low-cardinality columns for a breakdown
    how: dict[str, str] = field(default_factory=dict)   # role -> "name", "content" or "export"
    anonymous: list[str] = field(default_factory=list)  # ids before login, joined to ``user`` (semantics 1.9)
    unit: str | None = None             # timestamp_unit, when the export says
    event_constant: str | None = None   # the event of a file without an event column (Segment pages)
    export: str | None = None           # the export recognised by its columns (init.exports)
    rejected: list[str] = field(default_factory=list)   # why columns named like a user id were not taken


@dataclass
class Scaffold:
    """What ``init`` guessed, and the config it renders."""

    sources: list[str]
    rows_sampled: int
    columns: ColumnGuess
    events: list[EventCount]                 # every event name, most frequent first
    counted_all: bool                        # events counted over every row (else over the sample)
    steps: list[GuessedConversion]           # the funnel, in order
    conversions: list[GuessedConversion]     # every conversion written (steps' first)
    from_frequency: bool                     # no e-commerce funnel: the most frequent events instead
    sampled_all: bool = True                 # the sample is every row of every file
    config_name: str = "funnels.yaml"        # the file the YAML's comments tell to validate
    input_format: str | None = None          # --input-format, repeated in those commands
    yaml: str = ""

    @property
    def macro(self) -> GuessedConversion | None:
        return next((c for c in self.conversions if c.kind == "macro"), None)

    def summary(self) -> str:
        """A few lines for stderr: the columns and the funnel."""
        cols = self.columns
        parts = [f"user={'|'.join(cols.user)}" + (f" (+ anonymous {'|'.join(cols.anonymous)})" if cols.anonymous else ""),
                 f"event={'|'.join(cols.event)}",
                 f"timestamp={'|'.join(cols.timestamp)}"]
        if cols.session:
            parts.append(f"session={'|'.join(cols.session)}")
        if cols.revenue:
            parts.append(f"revenue={cols.revenue}")
        steps = " -> ".join("|".join(s.events) + (" (macro)" if s.kind == "macro" else "") for s in self.steps)
        how = "the most frequent events (no common e-commerce names found)" if self.from_frequency else "e-commerce"
        lines = ([f"recognised {cols.export} by its columns"] if cols.export else []) + [
                 f"columns: {', '.join(parts)}",
                 f"funnel ({how}): {steps}",
                 f"{len(self.events)} event names, {len(self.conversions)} conversions"]
        secondary = [c.name for c in self.conversions if c.kind == "secondary"]
        if secondary:
            lines[-1] += f" (secondary: {', '.join(secondary)})"
        lines += [f"not the user: {why}" for why in cols.rejected]
        return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
