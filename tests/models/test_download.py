"""Downloads through the real huggingface_hub client against a stub of the hub's HTTP API on 127.0.0.1."""
from __future__ import annotations

import hashlib
import sys
import time
from pathlib import Path

import pytest

from imaginarium.core.config import Settings
from imaginarium.core.errors import ApiAuthError, BadInputError, CancelledError
from imaginarium.core.models import registry
from imaginarium.core.models.download import OfflineError, download
from imaginarium.core.models.status import INCOMPLETE, INSTALLED, MISSING, partial_dir, status, verify

from .stub_hub import Repo, StubHub, dinov2_repo, flux_repo, weights

ONLINE = {"IMAGINARIUM_ONLINE_ACCESS": "1"}


@pytest.fixture()
def hub():
    server = StubHub().start()
    yield server
    server.close()


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch):
    """64 KB transfer chunks instead of 10 MB, so a 3 MB file reports progress (and can be cancelled) many times."""
    import huggingface_hub.constants as c

    monkeypatch.setattr(c, "DOWNLOAD_CHUNK_SIZE", 64 * 1024)
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.delenv("HUGGING_FACE_HUB_TOKEN", raising=False)


def settings_for(tmp_path: Path) -> Settings:
    s = Settings()
    s.paths.weights_dir = str(tmp_path / "weights")
    return s


def test_download_with_progress_then_status_and_verify(hub, tmp_path: Path) -> None:
    repo = hub.add(dinov2_repo())
    spec, settings = registry.get("dinov2"), settings_for(tmp_path)
    place = registry.target(spec, settings)
    assert status(spec, settings).state == MISSING
    seen: list[tuple[int, int]] = []
    result = download(spec, place, endpoint=hub.url, env=ONLINE,
                      progress=lambda done, total, msg: seen.append((done, total)))
    for name in ("config.json", "model.safetensors", "preprocessor_config.json"):
        assert (place / name).read_bytes() == repo.files[name]
    assert not (place / "pytorch_model.bin").exists() and not hub.fetched("pytorch_model.bin")
    total = sum(len(repo.files[n]) for n in ("config.json", "model.safetensors", "preprocessor_config.json"))
    transfer = [d for d, t in seen if t == total]
    assert len(transfer) >= 5 and transfer == sorted(transfer) and transfer[-1] == total
    assert result["commit"] == repo.sha and result["fetched"] == 3
    st = status(spec, settings)
    assert st.state == INSTALLED and st.source == "download" and st.size_bytes >= total
    assert verify(spec, settings)["problems"] == []
    data = bytearray((place / "model.safetensors").read_bytes())
    data[1000] ^= 0xFF  # one flipped byte, same size: only the hash can tell
    (place / "model.safetensors").write_bytes(bytes(data))
    assert status(spec, settings).state == INSTALLED
    problems = verify(spec, settings)["problems"]
    assert len(problems) == 1 and "model.safetensors" in problems[0] and "sha256" in problems[0]


def test_cancel_keeps_the_partial_file_and_download_resumes_it(hub, tmp_path: Path) -> None:
    repo = hub.add(dinov2_repo())
    hub.slow_s = 0.01
    spec, settings = registry.get("dinov2"), settings_for(tmp_path)
    place = registry.target(spec, settings)

    def cancel_midway(done: int, total: int, msg: str) -> None:
        if "model.safetensors" in msg and done > 1_000_000:
            raise CancelledError("Job was cancelled.")

    with pytest.raises(CancelledError):
        download(spec, place, endpoint=hub.url, env=ONLINE, progress=cancel_midway)
    part = partial_dir(place, False) / "model.safetensors.part"
    kept = part.stat().st_size
    assert 0 < kept < len(repo.files["model.safetensors"]) and not (place / "model.safetensors").exists()
    assert status(spec, settings).state == INCOMPLETE
    hub.slow_s = 0.0
    download(spec, place, endpoint=hub.url, env=ONLINE)
    gets = hub.fetched("model.safetensors")
    assert gets[-1]["range"] == f"bytes={kept}-"  # resumed, not started again
    assert (place / "model.safetensors").read_bytes() == repo.files["model.safetensors"]
    assert status(spec, settings).state == INSTALLED and not partial_dir(place, False).exists()


def test_a_connection_lost_mid_file_is_resumed_with_a_range_request(hub, tmp_path: Path) -> None:
    repo = hub.add(dinov2_repo(size=1_500_000))
    hub.drop_after["model.safetensors"] = 700_000
    spec, settings = registry.get("dinov2"), settings_for(tmp_path)
    place = registry.target(spec, settings)
    download(spec, place, endpoint=hub.url, env=ONLINE)
    gets = hub.fetched("model.safetensors")
    assert len(gets) == 2 and gets[0]["range"] is None and gets[1]["range"].startswith("bytes=")
    assert 0 < int(gets[1]["range"][6:-1]) <= 700_000
    assert (place / "model.safetensors").read_bytes() == repo.files["model.safetensors"]


def test_a_gated_model_without_a_token_gets_401_and_the_fix(hub, tmp_path: Path) -> None:
    hub.add(flux_repo())
    spec, settings = registry.get("flux"), settings_for(tmp_path)
    place = registry.target(spec, settings)
    with pytest.raises(ApiAuthError) as info:
        download(spec, place, endpoint=hub.url, env=ONLINE)
    assert "gated" in info.value.message and "401" in info.value.message
    assert registry.MODELS_SECTION in info.value.fix and "huggingface.co/black-forest-labs/FLUX.1-dev" in info.value.fix
    assert not any((place / n).exists() for n in spec.required)
    wrong = "hf_wrong_token_abcdef"
    with pytest.raises(ApiAuthError) as info:
        download(spec, place, token=wrong, endpoint=hub.url, env=ONLINE)
    assert wrong not in info.value.message + info.value.fix
    result = download(spec, place, token=hub.token, endpoint=hub.url, env=ONLINE)
    assert result["files"] == 17 and status(spec, settings).state == INSTALLED  # 13 required + 4 shards
    assert not (place / "flux1-dev.safetensors").exists()  # the single-file copy is not fetched


def test_online_access_off_fetches_nothing(hub, tmp_path: Path) -> None:
    hub.add(dinov2_repo())
    spec, settings = registry.get("dinov2"), settings_for(tmp_path)
    place = registry.target(spec, settings)
    for env in ({"IMAGINARIUM_ONLINE_ACCESS": "0"}, {"HF_HUB_OFFLINE": "1"}):
        with pytest.raises(OfflineError):
            download(spec, place, endpoint=hub.url, env=env)
    assert hub.requests == [] and not place.exists()


def test_the_lora_comes_from_the_dataset_repository_as_one_file(hub, tmp_path: Path) -> None:
    lora = weights(5000, 9)
    hub.add(Repo("HiHiAllen/Imaginarium-Dataset", {"weights/imaginarium_finetuned_flux.pth": lora,
                                                   "README.md": b"# data"}, repo_type="dataset"))
    spec, settings = registry.get("lora"), settings_for(tmp_path)
    place = registry.target(spec, settings)
    download(spec, place, endpoint=hub.url, env=ONLINE)
    assert place.read_bytes() == lora and status(spec, settings).state == INSTALLED
    assert hub.fetched("weights/imaginarium_finetuned_flux.pth")[0]["path"].startswith("/datasets/")
    assert verify(spec, settings)["problems"] == []
    own = settings_for(tmp_path / "other")
    own_file = registry.target(spec, own)
    own_file.parent.mkdir(parents=True)
    own_file.write_bytes(b"my own LoRA")
    with pytest.raises(BadInputError, match="already exists"):
        download(spec, own_file, endpoint=hub.url, env=ONLINE)
    assert own_file.read_bytes() == b"my own LoRA"


def test_files_put_there_by_hand_count_as_installed_but_unchecked(tmp_path: Path) -> None:
    spec, settings = registry.get("depth"), settings_for(tmp_path)
    place = registry.target(spec, settings)
    place.mkdir(parents=True)
    (place / "config.json").write_text("{}")
    assert status(spec, settings).state == INCOMPLETE
    header = b'{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}'
    (place / "model.safetensors").write_bytes(len(header).to_bytes(8, "little") + header + b"\0" * 8)
    st = status(spec, settings)
    assert st.state == INSTALLED and st.source == "manual" and "Verify" in st.detail
    assert verify(spec, settings)["problems"] == []
    with (place / "model.safetensors").open("ab") as fh:
        fh.truncate(len(header) + 8 + 4)  # cut short
    assert any("truncated" in p for p in verify(spec, settings)["problems"])


def test_the_worker_ops_download_cancel_resume_and_verify(hub, tmp_path: Path, ext_pkg) -> None:
    """The path Blender takes: the download_model op in a real worker process, progress and cancel over the wire."""
    from imaginarium.imaginarium_addon.worker_client import WorkerClient
    from tests.conftest import ROOT

    repo = hub.add(dinov2_repo(size=25 * 1024 * 1024))  # 3 chunks of the real 10 MB size: room to cancel
    hub.slow_s = 0.003
    env = {"HF_ENDPOINT": hub.url, "IMAGINARIUM_PATHS_WEIGHTS_DIR": str(tmp_path / "weights"),
           "HF_HOME": str(tmp_path / "hf"), "IMAGINARIUM_ONLINE_ACCESS": "1"}
    client = WorkerClient(python=sys.executable, root=ROOT, env=env, default_timeout_s=120,
                          drop_env=("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_HUB_OFFLINE"))
    try:
        job = client.submit("download_model", {"model": "dinov2"})
        deadline = time.monotonic() + 60
        while job.progress < 0.2 and not job.finished and time.monotonic() < deadline:
            client.poll()
            time.sleep(0.02)
        client.cancel(job.id)
        client.wait(job, timeout_s=60)
        assert job.state == "cancelled", (job.state, job.error)
        hub.slow_s = 0.0
        job = client.wait(client.submit("download_model", {"model": "dinov2"}), timeout_s=60)
        assert job.state == "done", job.error
        assert job.result["status"]["state"] == INSTALLED
        assert hub.fetched("model.safetensors")[-1]["range"] is not None  # the second job resumed
        place = tmp_path / "weights" / "dinov2-large"
        assert hashlib.sha256((place / "model.safetensors").read_bytes()).hexdigest() == \
            hashlib.sha256(repo.files["model.safetensors"]).hexdigest()
        job = client.wait(client.submit("verify_model", {"model": "dinov2"}), timeout_s=60)
        assert job.state == "done" and job.result["problems"] == [] and job.result["state"] == INSTALLED
    finally:
        client.stop()
