"""Generation page in Streamlit's AppTest, with the real default model (a few tokens per run)."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from engine.data.datasets import load_dataset
from engine.data.gen_tasks import load_gen_task, parse_gen_upload
from engine.generation.decoders import GenerationResult
from tests.app.conftest import new_app


def _page() -> AppTest:
    at = new_app("pages/generation.py")
    assert not at.exception, at.exception
    return at


def test_generates_with_two_strategies_and_scores_against_the_reference() -> None:
    at = _page()
    # defaults: English -> French, three demonstrations, a test item as query with its reference
    assert at.session_state["gen_for_task"] == load_gen_task("en_fr").fingerprint
    assert len(at.session_state["gen_demos"]) == 3
    assert at.text_input(key="gen_reference").value
    at.number_input(key="gen_max_new").set_value(4).run()
    at.selectbox(key="gen_b_strategy").set_value("beam").run()
    at.number_input(key="gen_b_beams").set_value(2).run()
    at.button(key="gen_run").click().run()
    assert not at.exception, at.exception
    last = at.session_state["gen_results"]
    assert list(last["results"]) == ["A: greedy", "B: beam"]
    for result in last["results"].values():
        assert isinstance(result, GenerationResult)
        assert 1 <= len(result.tokens) <= 4
        assert "\n" not in result.text  # the task's stop sequence
    assert last["perplexity"] is not None and last["perplexity"] > 1.0
    assert any("Answer:" in m.value for m in at.markdown)
    assert any("Metrics" in m.value for m in at.markdown)
    assert not at.error


def test_bad_inputs_show_errors_not_tracebacks() -> None:
    at = _page()
    at.text_input(key="gen_pattern").set_value("(unclosed").run()
    at.button(key="gen_run").click().run()
    assert not at.exception
    assert any("not a valid regular expression" in e.value for e in at.error)

    at.text_input(key="gen_pattern").set_value("").run()
    at.text_input(key="gen_template").set_value("{input} then {label}").run()
    at.button(key="gen_run").click().run()
    assert not at.exception
    assert any("unknown field {label}" in e.value for e in at.error)

    at.text_input(key="gen_template").set_value("Q: {input}\nA: {output}").run()
    at.text_input(key="gen_query").set_value("   ").run()
    at.button(key="gen_run").click().run()
    assert any("query is empty" in e.value for e in at.error)


def test_chain_of_thought_task_and_prompt_lab_instruction() -> None:
    at = _page()
    at.selectbox(key="gen_task").set_value("addition").run()
    assert not at.exception, at.exception
    assert "{reasoning}" in str(at.text_input(key="gen_template").value)
    assert "answer is" in str(at.text_input(key="gen_pattern").value)
    assert all(d["reasoning"] for d in at.session_state["gen_demos"])
    # the instruction travels to the Prompt Lab and back
    at.text_area(key="gen_instruction").set_value("Add carefully.").run()
    at.button(key="gen_send_pl_instruction").click().run()
    assert at.session_state["pl_instruction"] == "Add carefully."
    at.text_area(key="gen_instruction").set_value("something else").run()
    at.button(key="gen_take_pl_instruction").click().run()
    assert at.text_area(key="gen_instruction").value == "Add carefully."
    # opening the Prompt Lab afterwards keeps the instruction that was sent
    at.switch_page("pages/prompt_lab.py").run()
    assert not at.exception, at.exception
    assert at.text_area(key="w_pl_instruction").value == "Add carefully."


def test_prompt_lab_demonstrations_become_input_output_pairs() -> None:
    at = _page()
    at.button(key="gen_from_pl").click().run()
    assert not at.exception, at.exception
    demos = at.session_state["gen_demos"]
    words = set(load_dataset("sst2").label_words)  # the sidebar's default dataset
    assert len(demos) == 4  # the Prompt Lab's default: four SST-2 demonstrations
    assert all(d["input"] and not d["reasoning"] for d in demos)
    assert {d["output"] for d in demos} <= words
    assert "{input}" in str(at.text_input(key="gen_template").value)
    assert at.text_input(key="gen_query").value


def test_uploaded_rows_become_the_task() -> None:
    at = _page()
    at.radio(key="gen_source").set_value("upload").run()
    at.text_area(key="gen_paste").set_value(
        "input,output\nsun,soleil\nmoon,lune\nstar,étoile\nsea,mer\n"
    ).run()
    assert not at.exception, at.exception
    first = parse_gen_upload(
        b"input,output\nsun,soleil\nmoon,lune\nstar,\xc3\xa9toile\nsea,mer\n", "pasted.csv"
    )
    assert at.session_state["gen_for_task"] == first.fingerprint
    # the same file name and row count with other rows: the prompt follows the new rows
    at.text_area(key="gen_paste").set_value(
        "input,output\ncat,chat\ndog,chien\nbird,oiseau\nfish,poisson\n"
    ).run()
    assert not at.exception, at.exception
    assert at.session_state["gen_for_task"] != first.fingerprint
    assert at.text_input(key="gen_query").value in {"cat", "dog", "bird", "fish"}
    at.text_area(key="gen_paste").set_value("input,answer\nsun,soleil\n").run()
    assert any("no `output` column" in e.value for e in at.error)
