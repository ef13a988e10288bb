# Sourced by the GPU-machine scripts: LeRobot 0.6.1 and the slim PyAV from the carried .whl-lerobot go to
# /tmp/site (once per machine), robolearn comes from this checkout, and every run there gets the same
# environment (offline Hugging Face, NVLink multicast off) and DataLoader workers (cores - 1, at most 15).
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1
export NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1
if [ ! -d /tmp/site/lerobot ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl-lerobot/*.whl \
    && tar xJf .whl-lerobot/av-15.1.0-slim-site.tar.xz -C /tmp/site || { echo 'lerobot_site: wheel install failed'; exit 1; }
fi
export PYTHONPATH=/tmp/site:$PWD/src/robolearn_core:$PWD/src/robolearn_train:$PWD
WORKERS=$(( $(nproc) - 1 > 15 ? 15 : $(nproc) - 1 ))
