"""The ComfyUI provider against one fake ComfyUI server over real HTTP and WebSocket: the
submit flow, progress, every scripted ending, cancel, reconnect, resume, discovery, auth."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import pytest

from studio.core import codec
from studio.core.request import Stage
from studio.providers.base import Submission
from studio.providers.comfyui import ComfyUIProvider
from studio.providers.errors import (
    AuthenticationError,
    BadResponseError,
    InvalidRequestError,
    ProviderFailedError,
    ProviderTimeout,
    RenderCancelled,
)
from tests.fakes.comfyui import FakeComfyUI
from tests.fakes.fixtures import EventLog
from tests.fakes.sample import sample_request

Make = Callable[..., ComfyUIProvider]
pytestmark = pytest.mark.asyncio


def graph_sent(server: FakeComfyUI, index: int = -1) -> dict[str, Any]:
    return server.prompt_bodies()[index]["prompt"]


def nodes_of(graph: dict[str, Any], class_type: str) -> list[dict[str, Any]]:
    return [n for n in graph.values() if n["class_type"] == class_type]


async def test_a_preview_renders_with_progress_over_the_socket(
    comfyui_server: FakeComfyUI, make_comfyui: Make, events: EventLog,
) -> None:
    provider = make_comfyui(comfyui_server)
    result = await provider.generate(sample_request(model="flux-schnell", seed=1234,
                                                    negative="blurry"), events)
    assert (result.width, result.height, result.format) == (512, 768, "png")
    assert result.provider == "comfyui" and result.model == "flux-schnell"
    assert result.seed_returned == 1234 and result.cost == 0.0
    assert events.distinct() == ["Submitted", "Processing", "Downloading", "Done"]
    submission = events.items[0].submission  # type: ignore[union-attr]
    assert submission.info["server"] == comfyui_server.base_url
    assert submission.request_id == result.request_id

    body = comfyui_server.prompt_bodies()[0]
    assert body["prompt_id"] == submission.request_id
    assert body["client_id"] == submission.info["client_id"]
    # The socket with that client id was open before the prompt was posted.
    paths = [(r.method, r.path, r.query.get("clientId")) for r in comfyui_server.requests]
    assert paths.index(("GET", "/ws", body["client_id"])) < paths.index(("POST", "/prompt",
                                                                         None))
    graph = body["prompt"]
    (loader,) = nodes_of(graph, "CheckpointLoaderSimple")
    assert loader["inputs"]["ckpt_name"] == "flux1-schnell-fp8.safetensors"
    (sampler,) = nodes_of(graph, "KSampler")
    assert {k: sampler["inputs"][k] for k in ("seed", "steps", "cfg", "sampler_name",
                                              "scheduler")} == {
        "seed": 1234, "steps": 4, "cfg": 1.0, "sampler_name": "euler", "scheduler": "simple"}
    (latent,) = nodes_of(graph, "EmptySD3LatentImage")
    assert (latent["inputs"]["width"], latent["inputs"]["height"]) == (512, 768)
    texts = [n["inputs"]["text"] for n in nodes_of(graph, "CLIPTextEncode")]
    assert texts == [sample_request().prompt, "blurry"]
    (save,) = nodes_of(graph, "SaveImage")
    assert submission.request_id[:12] in save["inputs"]["filename_prefix"]
    assert comfyui_server.count("GET", "/view") == 1
    assert comfyui_server.posts[submission.request_id] == 1


async def test_a_final_uses_a_dev_class_checkpoint_thirty_steps_and_flux_guidance(
    comfyui_server: FakeComfyUI, make_comfyui: Make,
) -> None:
    provider = make_comfyui(comfyui_server)
    assert provider.models().for_stage(Stage.FINAL) == "flux-dev"
    request = sample_request(model="flux-dev", stage=Stage.FINAL, steps=0, guidance=3.5)
    result = await provider.generate(request)
    assert result.width == 512
    graph = graph_sent(comfyui_server)
    assert nodes_of(graph, "CheckpointLoaderSimple")[0]["inputs"]["ckpt_name"] == \
        "flux1-dev-fp8.safetensors"
    assert nodes_of(graph, "KSampler")[0]["inputs"]["steps"] == 30
    assert nodes_of(graph, "FluxGuidance")[0]["inputs"]["guidance"] == 3.5


async def test_a_split_model_install_gets_unet_clip_and_vae_loaders(
    comfyui_farm: Callable[..., list[FakeComfyUI]], make_comfyui: Make,
) -> None:
    (server,) = comfyui_farm(1, checkpoints=(), unets=("flux1-schnell.safetensors",),
                             clips=("clip_l.safetensors", "t5xxl_fp8_e4m3fn.safetensors"),
                             vaes=("ae.safetensors",))
    provider = make_comfyui(server)
    await provider.generate(sample_request(model="flux-schnell"))
    graph = graph_sent(server)
    assert not nodes_of(graph, "CheckpointLoaderSimple")
    assert nodes_of(graph, "UNETLoader")[0]["inputs"]["unet_name"] == \
        "flux1-schnell.safetensors"
    assert nodes_of(graph, "DualCLIPLoader")[0]["inputs"] == {
        "clip_name1": "clip_l.safetensors", "clip_name2": "t5xxl_fp8_e4m3fn.safetensors",
        "type": "flux"}
    assert nodes_of(graph, "VAELoader")[0]["inputs"]["vae_name"] == "ae.safetensors"


async def test_a_missing_model_is_a_sentence_before_anything_is_sent(
    comfyui_farm: Callable[..., list[FakeComfyUI]], make_comfyui: Make, events: EventLog,
) -> None:
    (server,) = comfyui_farm(1, checkpoints=("sd_xl_base_1.0.safetensors",))
    provider = make_comfyui(server)
    with pytest.raises(InvalidRequestError) as caught:
        await provider.generate(sample_request(model="flux-schnell"), events)
    message = caught.value.user_message("Headshot")
    assert "lists no FLUX.1 schnell model" in message
    assert "sd_xl_base_1.0.safetensors" in message and "--model" in message
    assert server.count("POST", "/prompt") == 0
    assert events.names == ["Failed"]
    with pytest.raises(InvalidRequestError, match=r"does not list the model “nope\.safetensors”"):
        await provider.generate(sample_request(model="nope.safetensors"))
    assert server.count("POST", "/prompt") == 0


async def test_a_checkpoint_deleted_after_discovery_is_refused_with_node_errors(
    comfyui_server: FakeComfyUI, make_comfyui: Make,
) -> None:
    provider = make_comfyui(comfyui_server)
    await provider.generate(sample_request(model="flux-schnell"))
    comfyui_server.remove_model("flux1-schnell-fp8.safetensors")
    await comfyui_server.until(lambda s: "flux1-schnell-fp8.safetensors" not in json.dumps(
        s.catalogue["CheckpointLoaderSimple"]))
    with pytest.raises(InvalidRequestError) as caught:
        await provider.generate(sample_request(model="flux-schnell", seed=2))
    text = str(caught.value)
    assert "refused the workflow" in text and "Value not in list" in text
    assert "node 1 (CheckpointLoaderSimple)" in text and "flux1-schnell-fp8" in text
    posts = comfyui_server.count("POST", "/prompt")
    # The refusal dropped the cached catalogue: the next job knows before sending.
    with pytest.raises(InvalidRequestError, match=r"lists no FLUX\.1 schnell model"):
        await provider.generate(sample_request(model="flux-schnell", seed=3))
    assert comfyui_server.count("POST", "/prompt") == posts
    assert comfyui_server.count("GET", "/object_info") == 2


async def test_a_cached_run_without_executed_still_gets_its_image_from_history(
    comfyui_server: FakeComfyUI, make_comfyui: Make,
) -> None:
    comfyui_server.plan("cached")
    result = await make_comfyui(comfyui_server).generate(sample_request())
    assert result.info["cached_nodes"] > 0 and result.format == "png"


async def test_a_cached_run_with_no_image_at_all_is_a_sentence(
    comfyui_server: FakeComfyUI, make_comfyui: Make, events: EventLog,
) -> None:
    comfyui_server.plan("cached_empty")
    with pytest.raises(BadResponseError) as caught:
        await make_comfyui(comfyui_server).generate(sample_request(), events)
    assert "served the whole workflow from its cache" in caught.value.user_message("Headshot")
    assert events.names[-1] == "Failed"


async def test_an_execution_error_names_the_node_and_the_exception(
    comfyui_server: FakeComfyUI, make_comfyui: Make, events: EventLog,
) -> None:
    comfyui_server.plan("error")
    with pytest.raises(ProviderFailedError) as caught:
        await make_comfyui(comfyui_server).generate(sample_request(), events)
    text = caught.value.user_message("Headshot")
    assert "stopped with an error at node 5 (KSampler)" in text
    assert "OutOfMemoryError: CUDA out of memory" in text and "“Headshot”" in text
    assert events.names[-1] == "Failed"
    assert comfyui_server.count("POST", "/prompt") == 1


async def test_cancel_interrupts_the_running_prompt_and_deletes_it_from_the_queue(
    comfyui_server: FakeComfyUI, make_comfyui: Make,
) -> None:
    comfyui_server.plan("hold")
    provider = make_comfyui(comfyui_server)
    submission = await provider.submit(sample_request())
    follow = asyncio.ensure_future(provider.follow(submission))
    await comfyui_server.until(lambda s: s.running == submission.request_id)
    assert await provider.cancel(submission) is True
    with pytest.raises(RenderCancelled, match="interrupted"):
        await follow
    interrupt = [r for r in comfyui_server.requests if r.path == "/interrupt"]
    assert interrupt[0].json == {"prompt_id": submission.request_id}
    deletes = [r.json for r in comfyui_server.requests
               if r.method == "POST" and r.path == "/queue"]
    assert deletes == [{"delete": [submission.request_id]}]


async def test_cancelling_a_waiting_prompt_removes_it_and_never_sends_it_again(
    comfyui_server: FakeComfyUI, make_comfyui: Make,
) -> None:
    comfyui_server.plan("hold", "hold")
    provider = make_comfyui(comfyui_server)
    first = await provider.submit(sample_request(seed=1))
    second = await provider.submit(sample_request(seed=2))
    follow = asyncio.ensure_future(provider.follow(second))
    await comfyui_server.until(lambda s: s.running == first.request_id
                               and second.request_id in s.pending)
    assert await provider.cancel(second) is True
    with pytest.raises(RenderCancelled):
        await follow
    assert comfyui_server.pending == []
    assert comfyui_server.posts[second.request_id] == 1
    comfyui_server.release()
    assert (await provider.follow(first)).format == "png"


async def test_a_dropped_socket_is_reopened_with_the_same_client_id(
    comfyui_server: FakeComfyUI, make_comfyui: Make, events: EventLog,
) -> None:
    comfyui_server.plan("drop_socket")
    result = await make_comfyui(comfyui_server).generate(sample_request(), events)
    client_id = comfyui_server.prompt_bodies()[0]["client_id"]
    sockets = [r for r in comfyui_server.requests if r.path == "/ws"]
    assert len(sockets) >= 2 and {r.query["clientId"] for r in sockets} == {client_id}
    assert comfyui_server.count("GET", f"/history/{result.request_id}") >= 1
    assert comfyui_server.posts[result.request_id] == 1
    assert events.names[-1] == "Done"


async def test_resume_follows_a_stored_submission_without_posting_it_again(
    comfyui_server: FakeComfyUI, make_comfyui: Make, events: EventLog,
) -> None:
    comfyui_server.plan("hold")
    first = make_comfyui(comfyui_server)
    submission = await first.submit(sample_request(seed=99))
    stored = codec.dumps(submission)
    await first.aclose()  # the studio crashed
    await comfyui_server.until(lambda s: s.running == submission.request_id)

    again = make_comfyui(comfyui_server)
    follow = asyncio.ensure_future(again.follow(codec.loads(Submission, stored), events))
    await comfyui_server.until(lambda s: s.count("GET", "/queue") >= 1)
    comfyui_server.release()
    result = await follow
    assert result.request_id == submission.request_id and result.seed_returned == 99
    assert comfyui_server.count("POST", "/prompt") == 1
    assert events.names[-1] == "Done"
    # A job that finished while the studio was down is picked up from /history alone.
    later = make_comfyui(comfyui_server)
    assert (await later.follow(codec.loads(Submission, stored))).request_id == \
        submission.request_id
    assert comfyui_server.count("POST", "/prompt") == 1


async def test_a_server_that_dies_mid_run_leaves_the_job_for_resume(
    comfyui_server: FakeComfyUI, make_comfyui: Make, events: EventLog,
) -> None:
    comfyui_server.plan("die")
    provider = make_comfyui(comfyui_server, deadline=2.0)
    with pytest.raises(ProviderTimeout) as caught:
        await provider.generate(sample_request(), events)
    text = caught.value.user_message("Headshot")
    assert "stopped answering while it had the job" in text and "resume" in text
    assert comfyui_server.count("POST", "/prompt") == 1
    assert provider.farm_status().sentence() == "1 server, 0 up, 0 queued"


async def test_a_server_that_stops_answering_is_given_up_on_in_bounded_time(
    comfyui_server: FakeComfyUI, make_comfyui: Make,
) -> None:
    comfyui_server.die("hang")
    provider = make_comfyui(comfyui_server, exchange_seconds=0.5)
    with pytest.raises(ProviderFailedError) as caught:
        await provider.generate(sample_request())
    assert "gave no answer within 0.5 seconds" in str(caught.value)
    assert "STUDIO_COMFYUI_BASE_URL" in str(caught.value)


async def test_an_old_server_that_ignores_our_prompt_id_is_followed_by_its_own(
    comfyui_farm: Callable[..., list[FakeComfyUI]], make_comfyui: Make,
) -> None:
    (server,) = comfyui_farm(1, echo_prompt_id=False)
    result = await make_comfyui(server).generate(sample_request())
    assert result.request_id != server.prompt_bodies()[0]["prompt_id"]
    assert server.posts[result.request_id] == 1


async def test_discovery_reports_models_gpu_and_queue_and_is_cached(
    comfyui_farm: Callable[..., list[FakeComfyUI]], make_comfyui: Make,
) -> None:
    (server,) = comfyui_farm(1, redux=True)
    provider = make_comfyui(server)
    status = await provider.check_servers()
    assert status.sentence() == "1 server, 1 up, 0 queued"
    (row,) = status.servers
    assert row.state == "up" and "RTX 4090, 24 GB (20 GB free)" in row.gpu
    assert row.version == "0.3.60"
    assert row.models["checkpoints"][0] == "flux1-schnell-fp8.safetensors"
    assert row.models["redux"] is True and row.models["kontext"] is False
    await provider.generate(sample_request())
    await provider.check_servers()
    assert server.count("GET", "/object_info") == 1
    assert server.count("GET", "/system_stats") == 1


async def test_the_key_goes_as_a_bearer_token_to_the_server_and_nowhere_else(
    comfyui_farm: Callable[..., list[FakeComfyUI]], make_comfyui: Make, api_key: str,
) -> None:
    server, elsewhere = comfyui_farm(2, api_key=api_key)
    provider = make_comfyui(server, api_key=api_key)
    result = await provider.generate(sample_request())
    assert result.format == "png"
    assert all(r.headers.get("authorization") == f"Bearer {api_key}" for r in server.requests)
    # A server redirecting the image elsewhere is not followed: the key stays home.
    server.view_redirect = f"{elsewhere.base_url}/view?filename=x.png"
    with pytest.raises(BadResponseError, match="redirect"):
        await provider.generate(sample_request(seed=7))
    assert elsewhere.requests == []
    assert api_key not in json.dumps([dict(r.headers) for r in elsewhere.requests])


async def test_without_the_proxy_key_the_sentence_says_which_variable(
    comfyui_farm: Callable[..., list[FakeComfyUI]], make_comfyui: Make, api_key: str,
) -> None:
    (server,) = comfyui_farm(1, api_key=api_key)
    with pytest.raises(AuthenticationError) as caught:
        await make_comfyui(server).generate(sample_request())
    assert "STUDIO_COMFYUI_API_KEY" in caught.value.user_message("Headshot")
    assert server.count("POST", "/prompt") == 0


async def test_images_sent_over_the_socket_are_taken_when_no_file_is_saved(
    comfyui_server: FakeComfyUI, make_comfyui: Make, tmp_path: Any,
) -> None:
    workflow = {
        "1": {"class_type": "CheckpointLoaderSimple",
              "inputs": {"ckpt_name": "flux1-schnell-fp8.safetensors"}},
        "2": {"class_type": "CLIPTextEncode", "_meta": {"title": "studio:prompt"},
              "inputs": {"clip": ["1", 1], "text": ""}},
        "4": {"class_type": "EmptySD3LatentImage", "_meta": {"title": "studio:width,height"},
              "inputs": {"width": 64, "height": 64, "batch_size": 1}},
        "5": {"class_type": "KSampler", "_meta": {"title": "studio:seed,steps"},
              "inputs": {"model": ["1", 0], "positive": ["2", 0], "negative": ["2", 0],
                         "latent_image": ["4", 0], "seed": 1, "steps": 4, "cfg": 1.0,
                         "sampler_name": "euler", "scheduler": "simple", "denoise": 1.0}},
        "6": {"class_type": "VAEDecode", "inputs": {"samples": ["5", 0], "vae": ["1", 2]}},
        "7": {"class_type": "SaveImageWebsocket", "inputs": {"images": ["6", 0]}},
    }
    path = tmp_path / "socket.json"
    path.write_text(json.dumps(workflow), encoding="utf-8")
    provider = make_comfyui(comfyui_server, workflow_preview=path)
    assert provider.models().preview == "workflow:socket.json"
    events = EventLog()
    result = await provider.generate(sample_request(model="workflow:socket.json"), events)
    assert (result.width, result.height) == (512, 768)
    assert comfyui_server.count("GET", "/view") == 0
    assert "Downloading" in events.names
