using MiniGpt.Checkpoints;
using MiniGpt.IO;

namespace MiniGpt.Training;

/// <summary>out_dir already holds a run, and neither resuming it nor starting over was asked for.</summary>
public sealed class RunExistsException(string dir, IReadOnlyList<string> files)
    : MiniGptException($"{dir} already holds a run ({string.Join(", ", files)})")
{
    public string Dir { get; } = dir;
}

/// <summary>Another process is training into the same out_dir.</summary>
public sealed class RunInUseException(string dir) : DataException(dir, $"{dir} is in use by another training run");

/// <summary>
/// A training run's out_dir, held with an exclusive lock for the run's whole life, so that two processes
/// never interleave their metrics or replace each other's checkpoints. The lock is the kernel's (flock,
/// which .NET takes for FileShare.None): it goes with the process however that ends, so a run killed by
/// kill -9 never blocks the next. Opening it removes what a killed writer left half-written.
/// </summary>
public sealed class RunDirectory : IDisposable
{
    public const string LockFile = ".run.lock";
    readonly FileStream held;

    RunDirectory(string dir, FileStream held) => (Dir, this.held) = (dir, held);

    public string Dir { get; }

    /// <param name="resume">The run continues from its last.ckpt.</param>
    /// <param name="overwrite">A run already there may be replaced: <see cref="StartOver"/> removes its files.</param>
    /// <param name="evalOnly">The run writes nothing (eval_only), so a run already in the folder is no obstacle.</param>
    public static RunDirectory Open(string dir, bool resume, bool overwrite, bool evalOnly = false)
    {
        if (resume && overwrite) throw new ArgumentException("a run cannot both resume and start over");
        if (File.Exists(dir)) throw new DataException(dir, $"{dir} is a file, not a folder for a run");
        Directory.CreateDirectory(dir);
        FileStream held;
        try { held = FileLock.TryHold(Path.Combine(dir, LockFile)) ?? throw new RunInUseException(dir); }
        catch (IOException e) { throw new DataException(dir, $"cannot use {dir} for a run: {e.Message}"); }   // a read-only folder is not one in use
        try
        {
            foreach (var name in new[] { Checkpoint.LastFile, Checkpoint.BestFile })
                foreach (var leftover in AtomicFile.Leftovers(Path.Combine(dir, name))) File.Delete(leftover);
            var existing = RunFiles(dir);
            if (existing.Count > 0 && !resume && !overwrite && !evalOnly) throw new RunExistsException(dir, existing.Select(Path.GetFileName).ToList()!);
            return new RunDirectory(dir, held);
        }
        catch
        {
            held.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The files that make a folder a run: checkpoints, metrics and TensorBoard events. An events file that holds
    /// only the header its writer puts first is a start that failed (a first batch too big for memory) and no run:
    /// counted, it made the next start in that folder ask for --overwrite.
    /// </summary>
    public static IReadOnlyList<string> RunFiles(string dir) => RunFilesIn(dir).ToList();

    /// <summary>Whether <paramref name="dir"/> holds a run: it stops at the first of <see cref="RunFiles"/>.</summary>
    public static bool IsRun(string dir) => RunFilesIn(dir).Any();

    static IEnumerable<string> RunFilesIn(string dir)
        => new[] { Checkpoint.LastFile, Checkpoint.BestFile, RunLog.MetricsFile }.Select(n => Path.Combine(dir, n)).Where(File.Exists)
            .Concat(Logs.EventLog.EventFiles(dir).Where(f => !HeaderOnly(f)));

    /// <summary>
    /// Known to hold its header and nothing else: a file that cannot be read, or holds part of a record more, may be a
    /// run's. A header is a hundred-odd bytes, so a file of more than 64 KB is not read at all: runs read every events
    /// file in full (up to 1 GB each) to tell whether a folder was a run.
    /// </summary>
    static bool HeaderOnly(string eventFile) => Logs.TfRecordReader.Read(eventFile, maxFileBytes: 64 << 10) is { Error: null, Warnings.Count: 0, Records.Count: <= 1 };

    /// <summary>Removes the files of the run that was here, and events files of failed starts; called once the new run is sure to start, so a failed start loses nothing.</summary>
    public void StartOver()
    {
        foreach (var f in RunFiles(Dir).Concat(Logs.EventLog.EventFiles(Dir)).Distinct()) File.Delete(f);
    }

    public void Dispose() => held.Dispose();
}
