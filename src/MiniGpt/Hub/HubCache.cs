using MiniGpt.IO;

namespace MiniGpt.Hub;

/// <summary>
/// One repository's folder in the hub cache, laid out exactly as Python's huggingface_hub lays it out, so that
/// either finds what the other downloaded:
/// <c>models--{owner}--{name}/blobs/{etag}</c> holds each file's bytes once, named by the hub's etag (the SHA-256
/// for large files stored in LFS, the git blob hash for the others); <c>snapshots/{commit}/{file}</c> is a relative
/// symbolic link to its blob (a copy where links cannot be made); <c>refs/main</c> holds the commit main was last
/// seen at. A blob is written as <c>{etag}.incomplete</c> and renamed only once checked, so a blob under its final
/// name is always complete; writers of one blob take turns through <c>.locks/models--{owner}--{name}/{etag}.lock</c>.
/// </summary>
public sealed class HubCache
{
    public const string IncompleteSuffix = ".incomplete";

    /// <param name="cacheDir">The hub cache (<see cref="HubOptions.CacheDir"/>).</param>
    /// <param name="repo">owner/name.</param>
    public HubCache(string cacheDir, string repo)
    {
        CacheDir = cacheDir;
        var folder = "models--" + repo.Replace("/", "--");
        Dir = Path.Combine(cacheDir, folder);
        LocksDir = Path.Combine(cacheDir, ".locks", folder);
    }

    public string CacheDir { get; }

    /// <summary>The repository's folder.</summary>
    public string Dir { get; }

    string LocksDir { get; }

    public string BlobPath(string etag) => Path.Combine(Dir, "blobs", etag);
    public string SnapshotDir(string commit) => Path.Combine(Dir, "snapshots", commit);
    public string RefPath(string revision) => Path.Combine(Dir, "refs", revision);

    /// <summary>A ref holds a commit's name; a file that never ends in its place (a device) would be read until memory ran out.</summary>
    const int MaxRefChars = 1024;

    /// <summary>The commit a ref (main) was last seen at; null when the cache has none or it is unusable.</summary>
    public string? Commit(string revision = "main")
    {
        var path = RefPath(revision);
        if (!File.Exists(path) || EmptyFile.Is(path)) return null;
        string commit;
        try { commit = IO.TextFile.Read(path, MaxRefChars, "a ref").Trim(); }
        catch (DataException) { return null; }   // not a commit name, however long
        return IsName(commit) ? commit : null;
    }

    /// <summary>The files of <paramref name="files"/> that main's snapshot lacks (all of them when there is none).</summary>
    public IReadOnlyList<string> MissingFromSnapshot(IEnumerable<string> files)
    {
        var commit = Commit();
        return files.Where(f => commit is null || !IsComplete(Path.Combine(SnapshotDir(commit), f))).ToList();
    }

    /// <summary>True when <paramref name="path"/> (followed through links) is a file, and of <paramref name="size"/> bytes when given.</summary>
    public static bool IsComplete(string path, long? size = null)
    {
        // As the kernel follows the snapshot's relative links: a link to a deleted blob is no file.
        return EmptyFile.Size(path) is { } bytes && (size is null || bytes == size);
    }

    /// <summary>Puts <paramref name="file"/> into the snapshot of <paramref name="commit"/> as a link to its blob (a copy where links fail).</summary>
    public string Link(string commit, string file, string etag, long size)
    {
        var pointer = Path.Combine(SnapshotDir(commit), file);
        if (IsComplete(pointer, size)) return pointer;
        var blob = BlobPath(etag);
        var dir = Path.GetDirectoryName(pointer)!;
        Directory.CreateDirectory(dir);
        var tmp = Path.Combine(dir, $".{Path.GetFileName(pointer)}.{Guid.NewGuid():N}.link");
        try
        {
            File.CreateSymbolicLink(tmp, Path.GetRelativePath(dir, blob));
            File.Move(tmp, pointer, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or PlatformNotSupportedException)
        {
            try { File.Delete(tmp); } catch (IOException) { }
            AtomicFile.Write(pointer, s => { using var source = File.OpenRead(blob); source.CopyTo(s); });
        }
        return pointer;
    }

    /// <summary>Records that <paramref name="revision"/> is at <paramref name="commit"/>.</summary>
    public void SetRef(string revision, string commit)
    {
        if (Commit(revision) != commit) AtomicFile.WriteAllText(RefPath(revision), commit);
    }

    /// <summary>
    /// The lock for writing blob <paramref name="etag"/>, held until disposed; waits while another process (or
    /// downloader) holds it. It is the kernel's flock (which .NET takes for FileShare.None), as Python's filelock.
    /// </summary>
    public async Task<IDisposable> LockBlobAsync(string etag, CancellationToken ct)
    {
        Directory.CreateDirectory(LocksDir);
        var path = Path.Combine(LocksDir, etag + ".lock");
        while (true)
        {
            try { return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None); }
            catch (IOException e) when (HeldByAnother(e)) { await Task.Delay(LockPoll, ct); }
        }
    }

    static readonly TimeSpan LockPoll = TimeSpan.FromMilliseconds(100);

    /// <summary>The error for a file another holds: EWOULDBLOCK on Linux (11) and macOS (35), a sharing or lock violation on Windows.</summary>
    static bool HeldByAnother(IOException e) => e.HResult is 11 or 35 or unchecked((int)0x80070020) or unchecked((int)0x80070021);

    /// <summary>A commit hash or etag that can name a file: letters, digits, '-' and '_' only.</summary>
    public static bool IsName(string s) => s.Length is > 0 and <= 128 && s.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_');
}
