namespace MiniGpt.Data;

/// <summary>
/// A token cache's files replaced as one. A prepare writes the new train.bin and val.bin in a staging folder inside
/// the cache folder; <see cref="Land"/> moves the old cache aside into it (meta.json first, so that the folder never
/// claims a cache it does not hold), moves the new files in, and writes meta.json last. Until that meta.json lands
/// the old cache can come back: from <see cref="Land"/> itself when it fails, and from <see cref="Recover"/> after a
/// process that died in between (Ctrl+C, kill -9, a crash), so a good cache is never lost to a partial one.
/// </summary>
public static class CacheReplacement
{
    internal const string StagingPrefix = ".staging-", LockFile = ".prepare.lock";
    const string Aside = "previous";

    /// <summary>A cache's files, meta.json last: each is valid only with the ones before it.</summary>
    static readonly string[] Files = [TokenCacheMeta.TrainFile, TokenCacheMeta.ValFile, TokenCacheMeta.FileName];

    /// <summary>A new staging folder in <paramref name="dir"/>, which holds the folder's lock.</summary>
    public static string NewStaging(string dir) => Directory.CreateDirectory(Path.Combine(dir, $"{StagingPrefix}{Guid.NewGuid():N}")).FullName;

    /// <summary>
    /// The cache folder's lock, held; one prepare at a time, by the kernel's lock, which goes with the process
    /// however it ends. Null when another process holds it.
    /// </summary>
    public static FileStream? TryHold(string dir) => IO.FileLock.TryHold(Path.Combine(dir, LockFile));

    /// <summary>
    /// Puts the train.bin and val.bin of <paramref name="staging"/> in place of the cache in <paramref name="dir"/>,
    /// then calls <paramref name="writeMeta"/> for the new meta.json. If anything fails first, the old cache is put back.
    /// </summary>
    public static void Land(string dir, string staging, Action writeMeta)
    {
        var aside = Directory.CreateDirectory(Path.Combine(staging, Aside)).FullName;
        try
        {
            foreach (var name in Enumerable.Reverse(Files))
                if (File.Exists(Path.Combine(dir, name))) File.Move(Path.Combine(dir, name), Path.Combine(aside, name));
            File.Move(Path.Combine(staging, TokenCacheMeta.TrainFile), Path.Combine(dir, TokenCacheMeta.TrainFile), overwrite: true);
            File.Move(Path.Combine(staging, TokenCacheMeta.ValFile), Path.Combine(dir, TokenCacheMeta.ValFile), overwrite: true);
            writeMeta();
        }
        catch
        {
            PutBack(dir, staging);
            throw;
        }
    }

    /// <summary>
    /// Puts back the cache a dead prepare left aside, and removes every staging folder. The caller holds the lock:
    /// any staging folder is then a dead prepare's.
    /// </summary>
    public static void RemoveStaging(string dir)
    {
        foreach (var stale in Directory.GetDirectories(dir, StagingPrefix + "*"))
        {
            PutBack(dir, stale);
            Directory.Delete(stale, recursive: true);
        }
    }

    /// <summary>
    /// For a reader of a cache folder that has no meta.json: puts back the cache a dead prepare left aside, unless a
    /// prepare is at work there now (its own cache will land). True if a cache is back.
    /// </summary>
    public static bool Recover(string dir)
    {
        if (!Directory.Exists(dir) || File.Exists(Path.Combine(dir, TokenCacheMeta.FileName))
            || !Directory.EnumerateDirectories(dir, StagingPrefix + "*").Any(s => File.Exists(Path.Combine(s, Aside, TokenCacheMeta.FileName))))
            return false;
        try
        {
            using var held = TryHold(dir);
            if (held is null) return false;
            RemoveStaging(dir);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return false; }   // a read-only folder stays as it is
        return File.Exists(Path.Combine(dir, TokenCacheMeta.FileName));
    }

    /// <summary>Moves a cache left aside in <paramref name="staging"/> back, meta.json last, unless the folder has a meta.json of its own.</summary>
    static void PutBack(string dir, string staging)
    {
        var aside = Path.Combine(staging, Aside);
        if (File.Exists(Path.Combine(dir, TokenCacheMeta.FileName)) || !File.Exists(Path.Combine(aside, TokenCacheMeta.FileName))) return;
        foreach (var name in Files)
            if (File.Exists(Path.Combine(aside, name))) File.Move(Path.Combine(aside, name), Path.Combine(dir, name), overwrite: true);
    }
}
