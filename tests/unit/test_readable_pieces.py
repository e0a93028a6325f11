"""Token strings of byte-level BPE: a character split over several tokens is shown once, on its
first piece, so the pieces always join to the decoded text."""

from __future__ import annotations

from engine.model.hf_runner import readable_pieces

# a byte-level vocabulary: every token is some bytes; decoding joins them as UTF-8
VOCAB: list[bytes] = [b"a", b" ok", "评".encode()[:2], "评".encode()[2:], "论".encode(), b"\n", b"\xe4"]


def decode(ids: list[int]) -> str:
    return b"".join(VOCAB[i] for i in ids).decode("utf-8", errors="replace")


def test_split_character_is_shown_on_its_first_piece() -> None:
    ids = [0, 2, 3, 4, 5, 1]
    pieces = readable_pieces(decode, ids)
    assert pieces == ["a", "评", "", "论", "\n", " ok"]
    assert "".join(pieces) == decode(ids)


def test_whole_tokens_are_unchanged() -> None:
    assert readable_pieces(decode, [0, 1, 5]) == ["a", " ok", "\n"]


def test_a_sequence_cut_at_the_end_is_flushed_as_replacement() -> None:
    pieces = readable_pieces(decode, [0, 6])
    assert pieces == ["a", "\ufffd"]
    assert len(readable_pieces(decode, [6] * 20)) == 20  # never waits forever
