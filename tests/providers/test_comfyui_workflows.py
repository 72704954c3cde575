"""ComfyUI knowledge without a server (wire parsing, discovery, slots, model choice, farm
rules) and, against the fake, workflow files and reference images end to end."""

from __future__ import annotations

import json
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from studio.core.resources import resource_path
from studio.providers.comfyui import ComfyUIProvider
from studio.providers.comfyui.discovery import graph_problems, option_list, parse_object_info
from studio.providers.comfyui.farm import (
    Farm,
    FarmConfigError,
    may_move,
    parse_server_urls,
    public_url,
)
from studio.providers.comfyui.jobs import JobSpec
from studio.providers.comfyui.wire import (
    Executing,
    ImageRef,
    Progress,
    Status,
    parse_binary,
    parse_history,
    parse_message,
    parse_queue,
    refusal_text,
)
from studio.providers.comfyui.workflows import (
    WorkflowError,
    builtin_workflow,
    choose_model_files,
    load_workflow,
)
from studio.providers.errors import InvalidRequestError
from tests.fakes.comfyui import FakeComfyUI, object_info
from tests.fakes.sample import sample_request
from tests.fakes.server import png_bytes

Make = Callable[..., ComfyUIProvider]
Start = Callable[..., list[FakeComfyUI]]


# ---------------------------------------------------------------- wire


def test_socket_messages_are_typed_and_junk_is_ignored() -> None:
    assert parse_message('{"type": "executing", "data": {"node": null, "prompt_id": "p"}}') \
        == Executing("p", None)
    assert parse_message('{"type": "progress", "data": {"value": 2, "max": 4, '
                         '"prompt_id": "p", "node": "5"}}') == Progress("p", 2, 4)
    assert parse_message('{"type": "status", "data": {"status": {"exec_info": '
                         '{"queue_remaining": 3}}, "sid": "c"}}') == Status(3, "c")
    for junk in ("", "[]", "{", '{"type": "progress", "data": {"value": "x", "max": 4, '
                 '"prompt_id": "p"}}', '{"type": "crystools.monitor", "data": {}}'):
        assert parse_message(junk) is None


def test_binary_frames_give_images_only_when_whole() -> None:
    png = png_bytes(8, 8)
    meta = json.dumps({"prompt_id": "p", "node_id": "7", "image_type": "image/png"}).encode()
    frame = parse_binary(struct.pack(">II", 4, len(meta)) + meta + png)
    assert frame is not None and (frame.prompt_id, frame.node_id, frame.data) == ("p", "7", png)
    plain = parse_binary(struct.pack(">II", 1, 2) + png)
    assert plain is not None and plain.format == "png" and plain.prompt_id is None
    assert parse_binary(struct.pack(">II", 4, 9999) + meta) is None  # truncated
    assert parse_binary(b"\x00\x00") is None


def test_history_and_queue_answers() -> None:
    data = {"p": {"outputs": {"9": {"images": [{"filename": "a.png", "subfolder": "",
                                                "type": "temp"}]},
                              "7": {"images": [{"filename": "b.png", "subfolder": "css",
                                                "type": "output"}, {"nope": 1}]}},
                  "status": {"status_str": "error", "completed": False, "messages": [
                      ["execution_start", {"prompt_id": "p"}],
                      ["execution_error", {"node_id": "5", "node_type": "KSampler",
                                           "exception_type": "torch.OutOfMemoryError",
                                           "exception_message": "CUDA out of memory"}]]}}}
    entry = parse_history(data, "p")
    assert entry is not None
    assert entry.images[0] == ImageRef("b.png", "css", "output")  # saved files first
    assert entry.error == "node 5 (KSampler): OutOfMemoryError: CUDA out of memory"
    assert parse_history({}, "p") is None and parse_history("junk", "p") is None
    queue = parse_queue({"queue_running": [[3, "r", {}, {}, []]],
                         "queue_pending": [[9, "late", {}, {}, []], [5, "early", {}, {}, []]]})
    assert queue is not None and queue.running == ("r",)
    assert queue.pending == ("early", "late") and queue.position("late") == 1
    assert parse_queue({"error": "x"}) is None


def test_a_refused_prompt_becomes_a_short_text() -> None:
    data = {"error": {"type": "prompt_outputs_failed_validation",
                      "message": "Prompt outputs failed validation"},
            "node_errors": {"1": {"class_type": "CheckpointLoaderSimple", "errors": [
                {"message": "Value not in list", "details": "ckpt_name: 'x' not in [...]"}]}}}
    assert refusal_text(data) == ("Prompt outputs failed validation; node 1 "
                                  "(CheckpointLoaderSimple): Value not in list: ckpt_name: 'x' "
                                  "not in [...]")


# ---------------------------------------------------------------- discovery and models


def test_the_catalogue_lists_models_and_capabilities_in_both_combo_shapes() -> None:
    info = object_info(["flux1-dev.safetensors"], unets=["flux1-schnell.safetensors"],
                       clips=["clip_l.safetensors", "t5xxl_fp16.safetensors"],
                       vaes=["ae.safetensors"], redux=True)
    info["VAELoader"]["input"]["required"]["vae_name"] = ["COMBO", {"options": [
        "ae.safetensors"]}]
    catalogue = parse_object_info(info)
    assert catalogue.checkpoints == ("flux1-dev.safetensors",)
    assert catalogue.unets == ("flux1-schnell.safetensors",)
    assert catalogue.clips == ("clip_l.safetensors", "t5xxl_fp16.safetensors")
    assert catalogue.vaes == ("ae.safetensors",)
    assert catalogue.has_redux and not catalogue.has_kontext
    assert option_list(["INT", {}]) is None
    files = choose_model_files("", "schnell", catalogue, "gpu1")
    assert (files.unet, files.clip_l, files.t5, files.vae) == (
        "flux1-schnell.safetensors", "clip_l.safetensors", "t5xxl_fp16.safetensors",
        "ae.safetensors")
    assert choose_model_files("", "dev", catalogue, "gpu1").checkpoint == "flux1-dev.safetensors"


def test_a_dev_class_choice_skips_kontext_fill_and_prefers_plain_dev() -> None:
    catalogue = parse_object_info(object_info([
        "flux1-kontext-dev.safetensors", "flux1-fill-dev.safetensors", "fluxgram.safetensors",
        "flux1-dev-fp8.safetensors", "flux1-schnell-fp8.safetensors"]))
    assert choose_model_files("", "dev", catalogue, "s").checkpoint == \
        "flux1-dev-fp8.safetensors"
    only_finetune = parse_object_info(object_info(["fluxgram.safetensors"]))
    assert choose_model_files("", "dev", only_finetune, "s").checkpoint == \
        "fluxgram.safetensors"
    with pytest.raises(WorkflowError, match=r"lists no FLUX\.1 schnell model"):
        choose_model_files("", "schnell", only_finetune, "s")


def test_graph_problems_name_missing_nodes_and_files() -> None:
    catalogue = parse_object_info(object_info(["a.safetensors"]))
    graph = {"1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "b.sft"}},
             "2": {"class_type": "PulidFluxApply", "inputs": {}},
             "3": {"class_type": "LoadImage", "inputs": {"image": "just-uploaded.png"}}}
    assert graph_problems(graph, catalogue) == [
        "the checkpoint \"b.sft\" (node 1)",
        "the node PulidFluxApply (node 2; a custom node that is not installed?)"]


# ---------------------------------------------------------------- workflow files


def write(tmp_path: Path, data: Any, name: str = "mine.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def user_graph() -> dict[str, Any]:
    graph = json.loads(resource_path("comfyui/preview.json").read_text(encoding="utf-8"))
    for node in graph.values():
        node.pop("_meta", None)
    graph["2"]["_meta"] = {"title": "Positive studio:prompt"}
    graph["5"]["_meta"] = {"title": "KSampler studio:seed=seed, steps"}
    graph["4"]["_meta"] = {"title": "studio:width,height"}
    graph["5"]["inputs"]["sampler_name"] = "dpmpp_2m"
    return graph


def test_the_built_in_graphs_have_their_slots() -> None:
    preview = builtin_workflow(resource_path("comfyui/preview.json"))
    final = builtin_workflow(resource_path("comfyui/final.json"))
    for workflow in (preview, final):
        assert {"prompt", "negative", "seed", "width", "height", "steps", "model"} <= set(
            workflow.slots)
    assert final.has("guidance") and not preview.has("guidance")


def test_bad_workflow_files_are_sentences(tmp_path: Path) -> None:
    with pytest.raises(WorkflowError, match="editor format; save it with “Export \\(API\\)”"):
        load_workflow(write(tmp_path, {"nodes": [], "links": []}))
    with pytest.raises(WorkflowError, match="no prompt slot"):
        load_workflow(write(tmp_path, {"1": {"class_type": "KSampler", "inputs": {}}}))
    with pytest.raises(WorkflowError, match="unknown slot “colour”"):
        load_workflow(write(tmp_path, {"1": {"class_type": "X", "inputs": {"text": ""},
                                             "_meta": {"title": "studio:colour"}}}))
    with pytest.raises(WorkflowError, match="marked studio:seed but has none of the inputs"):
        load_workflow(write(tmp_path, {"1": {"class_type": "X", "inputs": {"text": ""},
                                             "_meta": {"title": "studio:prompt,seed"}}}))
    with pytest.raises(WorkflowError, match="not valid JSON"):
        (tmp_path / "broken.json").write_text("{", encoding="utf-8")
        load_workflow(tmp_path / "broken.json")
    with pytest.raises(WorkflowError, match="cannot be read"):
        load_workflow(tmp_path / "missing.json")


@pytest.mark.asyncio
async def test_a_user_workflow_is_sent_unchanged_but_for_its_slots(
    comfyui_server: FakeComfyUI, make_comfyui: Make, tmp_path: Path,
) -> None:
    graph = user_graph()
    path = write(tmp_path, graph)
    provider = make_comfyui(comfyui_server, workflow_final=path)
    assert provider.models().final == "workflow:mine.json"
    caps = provider.capabilities("workflow:mine.json")
    assert not caps.supports_negative and not caps.uses_guidance
    request = sample_request(model="workflow:mine.json", seed=31337, steps=12,
                             negative="ugly", guidance=3.0)
    events: list[Any] = []
    await provider.generate(request, events.append)
    sent = comfyui_server.prompt_bodies()[0]["prompt"]
    expected = json.loads(json.dumps(graph))
    expected["2"]["inputs"]["text"] = request.prompt
    expected["5"]["inputs"].update(seed=31337, steps=12)
    expected["4"]["inputs"].update(width=512, height=768)
    expected["7"]["inputs"]["filename_prefix"] = sent["7"]["inputs"]["filename_prefix"]
    assert sent == expected
    assert sent["7"]["inputs"]["filename_prefix"].startswith("studio/preview-")
    notes = events[0].submission.notes
    assert any("no negative prompt" in n for n in notes)


@pytest.mark.asyncio
async def test_a_workflow_needing_a_missing_node_is_refused_before_sending(
    comfyui_server: FakeComfyUI, make_comfyui: Make, tmp_path: Path,
) -> None:
    graph = user_graph()
    graph["9"] = {"class_type": "PulidFluxApply", "inputs": {}}
    provider = make_comfyui(comfyui_server, workflow_preview=write(tmp_path, graph))
    with pytest.raises(InvalidRequestError, match="PulidFluxApply"):
        await provider.generate(sample_request(model="workflow:mine.json"))
    assert comfyui_server.count("POST", "/prompt") == 0


# ---------------------------------------------------------------- reference images


async def _wired(provider: ComfyUIProvider, model: str,
                 refs: list[tuple[str, bytes]]) -> dict[str, Any]:
    server = provider.farm.servers[0]
    spec = JobSpec.from_request(sample_request(model=model))
    catalogue = await provider.dispatcher.catalogue_of(server)
    from studio.providers.comfyui.jobs import build_graph

    built = build_graph(spec, provider.workflow_for(spec), catalogue, "p" * 12,
                        server.public_url)
    return await provider.attach_references(built.graph, spec, server, refs)


@pytest.mark.asyncio
async def test_references_go_up_and_through_redux_into_the_prompt(
    comfyui_farm: Start, make_comfyui: Make,
) -> None:
    (server,) = comfyui_farm(1, redux=True)
    provider = make_comfyui(server)
    face, outfit = png_bytes(8, 8), png_bytes(8, 8, (1, 2, 3))
    graph = await _wired(provider, "flux-schnell", [("face.png", face), ("outfit.png", outfit)])
    assert server.uploaded() == {"face.png": face, "outfit.png": outfit}
    loads = {n["inputs"]["image"] for n in graph.values() if n["class_type"] == "LoadImage"}
    assert loads == {"face.png", "outfit.png"}
    applies = [k for k, n in graph.items() if n["class_type"] == "StyleModelApply"]
    assert len(applies) == 2
    # The chain starts at the prompt encoder and the sampler reads its end.
    first, second = (graph[k] for k in applies)
    assert first["inputs"]["conditioning"] == ["2", 0]
    assert second["inputs"]["conditioning"] == [applies[0], 0]
    assert graph["5"]["inputs"]["positive"] == [applies[1], 0]
    assert first["inputs"]["strength_type"] == "multiply"
    client = provider.dispatcher.client(provider.farm.servers[0])
    status, _ = await client.post_prompt({"prompt": graph, "prompt_id": "ref-1"})
    assert status == 200  # the fake validates classes, files and links as the server does


@pytest.mark.asyncio
async def test_a_kontext_model_takes_references_as_reference_latents(
    comfyui_farm: Start, make_comfyui: Make,
) -> None:
    (server,) = comfyui_farm(1, kontext=True, checkpoints=["flux1-kontext-dev.safetensors"])
    provider = make_comfyui(server)
    graph = await _wired(provider, "flux1-kontext-dev.safetensors",
                         [("face.png", png_bytes(8, 8))])
    (ref,) = [k for k, n in graph.items() if n["class_type"] == "ReferenceLatent"]
    assert graph["3"]["inputs"]["conditioning"] == [ref, 0]  # FluxGuidance reads it
    encode = graph[graph[ref]["inputs"]["latent"][0]]
    assert encode["class_type"] == "VAEEncode" and encode["inputs"]["vae"] == ["1", 2]
    status, _ = await provider.dispatcher.client(provider.farm.servers[0]).post_prompt(
        {"prompt": graph})
    assert status == 200


@pytest.mark.asyncio
async def test_a_server_without_kontext_or_redux_gets_no_upload_and_a_sentence(
    comfyui_server: FakeComfyUI, make_comfyui: Make,
) -> None:
    provider = make_comfyui(comfyui_server)
    with pytest.raises(InvalidRequestError, match="neither FLUX Redux"):
        await _wired(provider, "flux-schnell", [("face.png", png_bytes(8, 8))])
    assert comfyui_server.uploaded() == {}


@pytest.mark.asyncio
async def test_a_user_workflow_takes_references_in_its_slots(
    comfyui_server: FakeComfyUI, make_comfyui: Make, tmp_path: Path,
) -> None:
    graph = user_graph()
    graph["20"] = {"class_type": "LoadImage", "_meta": {"title": "Face studio:reference"},
                   "inputs": {"image": "placeholder.png"}}
    provider = make_comfyui(comfyui_server, workflow_preview=write(tmp_path, graph))
    wired = await _wired(provider, "workflow:mine.json", [("face.png", png_bytes(8, 8))])
    assert wired["20"]["inputs"]["image"] == "face.png"
    assert set(comfyui_server.uploaded()) == {"face.png"}
def test_server_lists_are_parsed_with_a_sentence_for_bad_entries() -> None:
    assert parse_server_urls(" http://a:8188/, https://b.example/comfy ,http://a:8188") == [
        "http://a:8188", "https://b.example/comfy"]
    assert parse_server_urls("") == []
    with pytest.raises(FarmConfigError, match="“gpu1:8188” is not a server address"):
        parse_server_urls("http://a:8188,gpu1:8188")
    with pytest.raises(FarmConfigError, match="port that is not a number"):
        parse_server_urls("http://a:port")
    assert public_url("http://user:secret@gpu1:8188/x") == "http://gpu1:8188/x"


def test_the_move_rule() -> None:
    farm = Farm(["http://a:1", "http://b:2"], concurrency=2)
    a, b = farm.servers

    def move(state: str, server: Any, now: float) -> bool:
        return may_move(state, server, now, move_after=3.0, gone_after=15.0)  # type: ignore[arg-type]

    a.failed(now=100.0, error="timed out")  # something listens, but it does not answer
    assert not move("pending", a, 100.5)  # not silent long enough
    assert move("pending", a, 103.0)
    assert not move("started", a, 500.0) and not move("unknown", a, 500.0)
    assert not move("pending", b, 500.0)  # b answers
    a.failed(now=600.0, error="refused", refused=True)  # nothing listens: its process ended
    assert not move("started", a, 614.0)
    assert move("started", a, 615.0) and move("unknown", a, 615.0)
    a.failed(now=616.0, error="timed out")  # listening again: only its answer counts now
    assert not move("started", a, 700.0)
    assert farm.choose() is b
    b.in_flight.update({"x", "y"})
    assert farm.choose() is None  # b is full and a is down
    a.answered()
    b.report_queue(5)  # 3 prompts of someone else's
    b.in_flight.clear()
    assert b.load == 3 and farm.choose() is a


@pytest.mark.asyncio
async def test_a_workflow_without_a_seed_slot_claims_no_seed(
    comfyui_server: FakeComfyUI, make_comfyui: Make, tmp_path: Path,
) -> None:
    graph = user_graph()
    graph["5"]["_meta"] = {"title": "KSampler studio:steps"}
    provider = make_comfyui(comfyui_server, workflow_preview=write(tmp_path, graph))
    events: list[Any] = []
    result = await provider.generate(sample_request(model="workflow:mine.json", seed=5),
                                     events.append)
    assert result.seed_returned is None and events[0].submission.seed is None
    assert comfyui_server.prompt_bodies()[0]["prompt"]["5"]["inputs"]["seed"] == 0
    assert any("no seed slot" in note for note in result.notes)


def test_hostile_nesting_is_refused_without_a_traceback(tmp_path: Path) -> None:
    deep = "[" * 200_000 + "]" * 200_000
    assert parse_message(deep) is None
    with pytest.raises(WorkflowError, match="nests far too deep"):
        (tmp_path / "deep.json").write_text(deep, encoding="utf-8")
        load_workflow(tmp_path / "deep.json")
