//! How a process tells it was started by an MPI launcher, without starting MPI.

/// What the launcher's environment says about this process.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MpiLaunch {
    /// This process's rank.
    pub rank: u32,
    /// The number of ranks in the job.
    pub size: u32,
    /// A name the job's ranks share (the launcher's job id), for a cookie they agree on.
    pub job: String,
}

/// `Some` when this process is a rank of an MPI job: OpenMPI's `mpirun` sets
/// `OMPI_COMM_WORLD_SIZE`/`_RANK`, PMI launchers (MPICH's hydra, `srun --mpi=pmi2`) set
/// `PMI_SIZE`/`PMI_RANK`, PMIx ones (`srun --mpi=pmix`) `PMIX_RANK` with Slurm's counts.
pub fn launched_by_mpi() -> Option<MpiLaunch> {
    let var = |k: &str| std::env::var(k).ok();
    let num = |k: &str| var(k).and_then(|v| v.trim().parse::<u32>().ok());
    let (rank, size) =
        if let (Some(r), Some(s)) = (num("OMPI_COMM_WORLD_RANK"), num("OMPI_COMM_WORLD_SIZE")) {
            (r, s)
        } else if let (Some(r), Some(s)) = (num("PMI_RANK"), num("PMI_SIZE")) {
            (r, s)
        } else if let (Some(r), Some(s)) = (num("PMIX_RANK"), num("SLURM_NTASKS")) {
            (r, s)
        } else {
            return None;
        };
    let job = [
        "PMIX_NAMESPACE",
        "OMPI_MCA_orte_ess_jobid",
        "SLURM_JOB_ID",
        "PMI_KVSNAME",
    ]
    .iter()
    .find_map(|k| var(k))
    .unwrap_or_default();
    Some(MpiLaunch { rank, size, job })
}
