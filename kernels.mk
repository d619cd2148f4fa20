# kernels.mk: src/main/cuda/*.cu -> src/main/resources/dev/saetrain/device/cuda/kernels/*.ptx (the PTX is committed).
# Every PTX depends on its .cu and on every header src/main/cuda/*.cuh (common.cuh), so a header change rebuilds it.
#
#   make -f kernels.mk          regenerate every PTX file, then assemble each with ptxas for sm_80 and sm_90
#                               (-v: registers, shared memory, spills per kernel); fails on any spill
#   make -f kernels.mk check    regenerate into a temporary directory and fail if any file differs from the
#                               committed PTX (or a .cu has no committed PTX, or a committed PTX has no .cu)
#
# The nvcc command is fixed (no -lineinfo, no -G, no absolute paths), so the PTX is byte-identical wherever it is
# regenerated with the same nvcc. PTX from nvcc 13 needs NVIDIA driver >= 580. `mvn package` never runs this.

NVCC       ?= nvcc
PTXAS      ?= ptxas
CUDA_DIR   := src/main/cuda
PTX_DIR    := src/main/resources/dev/saetrain/device/cuda/kernels
SOURCES    := $(sort $(wildcard $(CUDA_DIR)/*.cu))
HEADERS    := $(sort $(wildcard $(CUDA_DIR)/*.cuh))
MODULES    := $(notdir $(basename $(SOURCES)))
PTX        := $(addprefix $(PTX_DIR)/,$(addsuffix .ptx,$(MODULES)))
SM_ARCHS   := sm_80 sm_90

.PHONY: all ptx ptxas check
.DELETE_ON_ERROR:

all: ptxas

ptx: $(PTX)

# Built from inside src/main/cuda with a relative output path: the PTX records no absolute path.
$(PTX_DIR)/%.ptx: $(CUDA_DIR)/%.cu $(HEADERS)
	@mkdir -p $(PTX_DIR)
	cd $(CUDA_DIR) && $(NVCC) -ptx -arch=compute_80 -O3 -std=c++17 -o ../resources/dev/saetrain/device/cuda/kernels/$*.ptx $*.cu

# Assemble every PTX for each SM; print each kernel's registers / shared memory / spills; fail on any spill.
ptxas: ptx
	@set -e; status=0; \
	for p in $(PTX); do for sm in $(SM_ARCHS); do \
	  out=$$($(PTXAS) -arch=$$sm -v $$p -o /dev/null 2>&1) || { echo "$$out"; echo "ptxas failed: $$p ($$sm)"; exit 1; }; \
	  echo "$$out" | awk -v f="$$(basename $$p)" -v sm="$$sm" ' \
	    /Compiling entry function/ { match($$0, /'"'"'[^'"'"']+'"'"'/); k = substr($$0, RSTART + 1, RLENGTH - 2) } \
	    /spill stores/ { spill = $$0; sub(/^[ \t]+/, "", spill) } \
	    /Used [0-9]+ registers/ { regs = $$0; sub(/.*Used /, "", regs); printf "%-14s %-6s %-40s %s | %s\n", f, sm, k, regs, spill }'; \
	  if echo "$$out" | grep -E "[1-9][0-9]* bytes spill (stores|loads)" >/dev/null; then \
	    echo "SPILL in $$p for $$sm:"; echo "$$out" | grep -B2 -E "[1-9][0-9]* bytes spill"; status=1; fi; \
	done; done; \
	if [ $$status -ne 0 ]; then echo "kernels.mk: register spills (see above); fix the kernels"; exit 1; fi

check:
	@set -e; tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; status=0; \
	for m in $(MODULES); do \
	  (cd $(CUDA_DIR) && $(NVCC) -ptx -arch=compute_80 -O3 -std=c++17 -o "$$tmp/$$m.ptx" $$m.cu); \
	  if [ ! -f $(PTX_DIR)/$$m.ptx ]; then echo "missing committed PTX: $(PTX_DIR)/$$m.ptx (run make -f kernels.mk)"; status=1; \
	  elif ! cmp -s "$$tmp/$$m.ptx" $(PTX_DIR)/$$m.ptx; then echo "stale PTX: $(PTX_DIR)/$$m.ptx differs from $(CUDA_DIR)/$$m.cu (run make -f kernels.mk and commit)"; status=1; \
	  else echo "ok: $$m.ptx"; fi; \
	done; \
	for p in $(wildcard $(PTX_DIR)/*.ptx); do \
	  m=$$(basename $$p .ptx); [ -f $(CUDA_DIR)/$$m.cu ] || { echo "PTX without source: $$p (remove it or add $(CUDA_DIR)/$$m.cu)"; status=1; }; \
	done; \
	exit $$status
