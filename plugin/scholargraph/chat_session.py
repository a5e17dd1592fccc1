"""A question-and-answer session over one open library: what `scholargraph chat` keeps between
questions so the embedding model loads once, not once a question (as `ask` must).

The answer itself is ``answer_question``, the same steps `ask` takes: search and pack numbered
cited papers, then let the chat LLM write a cited answer, or quote the papers when none is configured
or it cannot be reached. The session adds the state a loop needs: the scopes, ``k`` and ``hops``
set by slash commands, the earlier questions (they tell a short question's language), and the
last answer's cited papers for ``/sources`` (the command's name readers know).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from scholargraph.errors import ScholarGraphError

if TYPE_CHECKING:  # a client of the front door; library imports nothing of this module
    from scholargraph.library import Library
    from scholargraph.retrieval.context import ContextPack
    from scholargraph.retrieval.extractive import ExtractiveAnswer

NO_LLM_NOTE = ("no chat LLM configured: quoting the papers. For written answers set llm.base_url and llm.model "
               "(--llm-url/--llm-model, or SCHOLARGRAPH_LLM__BASE_URL and SCHOLARGRAPH_LLM__MODEL)")
NO_PASSAGE = ("no passage of the library matches this question: try other words, or more papers "
              "(`scholargraph ingest PATH`)")

HELP = """Ask a question, or:
  /hops N     graph hops to expand (0 = none)
  /k N        passages to retrieve
  /kb NAME    search only this knowledge base (/kb alone: all of them)
  /sources    the last answer's numbered sources
  /help       this list
  /quit       leave (Ctrl-D too)"""


@dataclass
class Answer:
    """One answered question: the cited papers it rests on, and either the LLM's text or quoted sentences."""

    question: str
    pack: ContextPack
    written: str = ""
    quoted: ExtractiveAnswer | None = None  # when the papers are quoted
    note: str = ""  # why the papers are quoted instead of written about

    @property
    def mode(self) -> str:
        return "extractive" if self.quoted is not None else "llm"

    def text(self) -> str:
        return self.quoted.text() if self.quoted is not None else self.written


def answer_question(library: Library, question: str, scopes: list[str] | None, options: dict[str, Any], *,
                    earlier: Sequence[str] = (), on_piece: Callable[[str], None] | None = None) -> Answer | None:
    """Search, pack, and answer; None when no passage matches. ``on_piece`` gets the LLM's text as
    it streams. An LLM that is down or refuses leaves a note and the papers quoted instead."""
    from scholargraph.llm import configured

    pack = library.context(question, scopes, **options)
    if not pack.cited:
        return None
    pack.language = library.question_language(question, scopes, earlier=earlier)
    result = Answer(question, pack)
    if configured(library.settings.llm):
        try:
            for piece in library.answer_stream(question, pack):
                result.written += piece
                if on_piece:
                    on_piece(piece)
        except ScholarGraphError as exc:  # unreachable, refused, broke off: quote the papers instead
            result.note = f"{exc}; quoting the papers instead"
    else:
        result.note = NO_LLM_NOTE
    if result.note:
        result.quoted = library.quote(question, pack)
    return result


def warm(library: Library) -> None:
    """Open the store and load the embedding model (seconds on CPU), e.g. while a status line says so."""
    library.searcher
    library.embedder.embed_queries(["warm up"])


@dataclass
class Reply:
    """What the face prints for one line typed: ``text`` to stdout, ``error`` to stderr."""

    text: str = ""
    error: str = ""
    done: bool = False  # /quit
    answer: Answer | None = None


@dataclass
class ChatSession:
    """The loop's state over one open library."""

    library: Library
    scopes: list[str] | None = None
    k: int | None = None
    hops: int | None = None
    hybrid: bool | None = None
    history: list[str] = field(default_factory=list)
    last: Answer | None = None

    def open(self) -> None:
        """Load the embedding model and open the store now, so the first question is as quick as the rest."""
        warm(self.library)

    def options(self) -> dict[str, Any]:
        return {"k": self.k, "hops": self.hops, "hybrid": self.hybrid}

    def handle(self, line: str, on_piece: Callable[[str], None] | None = None) -> Reply:
        """One line typed: a slash command, or a question to answer."""
        line = line.strip()
        if not line:
            return Reply()
        if line.startswith("/"):
            return self.command(line)
        try:
            got = answer_question(self.library, line, self.scopes, self.options(), earlier=self.history,
                                  on_piece=on_piece)
        except ScholarGraphError as exc:
            return Reply(error=str(exc))
        self.history.append(line)
        if got is None:
            return Reply(error=NO_PASSAGE)
        self.last = got
        n = len(got.pack.cited)
        hint = f"({n} source{'s' if n != 1 else ''}: /sources)"
        if got.quoted is not None:
            text = got.text() or "No sentence of the sources answers this directly; see /sources."
            return Reply(text=f"{text}\n{hint}", answer=got)
        return Reply(text=hint, answer=got)  # the LLM's text was streamed through on_piece

    def command(self, line: str) -> Reply:
        name, _, arg = line[1:].partition(" ")
        name, arg = name.lower(), arg.strip()
        if name in ("quit", "exit", "q"):
            return Reply(done=True)
        if name in ("help", "?"):
            return Reply(text=HELP)
        if name == "sources":
            if self.last is None:
                return Reply(error="no answer yet: ask a question first")
            return Reply(text="\n".join(src.line() for src in self.last.pack.cited))
        if name in ("hops", "k"):
            low, high = (0, 3) if name == "hops" else (1, 200)
            try:
                value = int(arg)
            except ValueError:
                value = None
            if value is None or not low <= value <= high:
                return Reply(error=f"/{name} takes a whole number from {low} to {high}, e.g. /{name} {max(low, 2)}")
            setattr(self, name, value)
            return Reply(text=f"{name} = {value}")
        if name == "kb":
            if not arg:
                self.scopes = None
                return Reply(text="searching all knowledge bases")
            papers = len(self.library.papers([arg]))
            if not papers:
                return Reply(error=f"no papers in '{arg}': add papers with `scholargraph ingest PATH --kb {arg}`")
            self.scopes = [arg]
            return Reply(text=f"searching '{arg}' ({papers} paper{'s' if papers != 1 else ''})")
        return Reply(error=f"unknown command /{name}: /help lists them")
