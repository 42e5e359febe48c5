#!/usr/bin/env bash
# dagger-rs under Slurm: the first task is the driver, every other task joins it as a worker.
#   sbatch --nodes=4 --ntasks-per-node=1 deploy/slurm.sh ./target/release/your-program
# The driver must listen on $DAGGER_LISTEN with $DAGGER_COOKIE, e.g.
#   Context::builder().listen(&std::env::var("DAGGER_LISTEN")?).cookie(&std::env::var("DAGGER_COOKIE")?)
set -euo pipefail
prog=${1:?usage: slurm.sh PROGRAM [ARGS...]}; shift
export DAGGER_COOKIE=${DAGGER_COOKIE:-$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')}
driver_host=$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n 1)
export DAGGER_LISTEN="0.0.0.0:7878"
srun --nodes=1 --ntasks=1 --nodelist="$driver_host" "$prog" "$@" &
driver=$!
sleep 2
if [ "${SLURM_NTASKS:-1}" -gt 1 ]; then
  DAGGER_SCHEDULER="$driver_host:7878" srun --ntasks=$((SLURM_NTASKS - 1)) --exclude="$driver_host" "$prog" &
fi
wait "$driver"
