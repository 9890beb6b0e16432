using System.Text.RegularExpressions;

namespace MiniGpt.Data;

/// <summary>
/// A token cache's files replaced as one. A prepare writes the new train.bin and val.bin in a staging folder inside
/// the cache folder; <see cref="Land"/> moves the old cache aside into it (meta.json first, so that the folder never
/// claims a cache it does not hold), moves the new files in, and writes meta.json last. Until that meta.json lands
/// the old cache can come back: from <see cref="Land"/> itself when it fails, and from <see cref="Recover"/> after a
/// process that died in between (Ctrl+C, kill -9, a crash), so a good cache is never lost to a partial one.
/// </summary>
public static partial class CacheReplacement
{
    internal const string LockFile = ".prepare.lock";
    const string StagingPrefix = ".staging-", Aside = "previous";

    /// <summary>A cache's files, meta.json last: each is valid only with the ones before it.</summary>
    static readonly string[] Files = [TokenCacheMeta.TrainFile, TokenCacheMeta.ValFile, TokenCacheMeta.FileName];

    /// <summary>A new staging folder in <paramref name="dir"/>, which holds the folder's lock.</summary>
    public static string NewStaging(string dir) => Directory.CreateDirectory(Path.Combine(dir, $"{StagingPrefix}{Guid.NewGuid():N}")).FullName;

    /// <summary>Whether a name in a cache folder is a staging folder's: the prefix and a GUID's 32 digits, so that a user's <c>.staging-notes</c> is never taken for one.</summary>
    internal static bool IsStaging(string name) => StagingName().IsMatch(name);

    [GeneratedRegex("^\\.staging-[0-9a-f]{32}$")]
    private static partial Regex StagingName();

    static IEnumerable<string> Stagings(string dir) => Directory.EnumerateDirectories(dir, StagingPrefix + "*").Where(d => IsStaging(Path.GetFileName(d)));

    /// <summary>
    /// The cache folder's lock, held; one prepare at a time, by the kernel's lock, which goes with the process
    /// however it ends. Null when another process holds it.
    /// </summary>
    public static FileStream? TryHold(string dir) => IO.FileLock.TryHold(Path.Combine(dir, LockFile));

    /// <summary>
    /// Puts the train.bin and val.bin of <paramref name="staging"/> in place of the cache in <paramref name="dir"/>,
    /// then calls <paramref name="writeMeta"/> for the new meta.json. If anything fails first, the old cache is put
    /// back; if that fails too, it stays aside for <see cref="Recover"/>, and the first failure is the one thrown.
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
            try { PutBack(dir, staging); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
            throw;
        }
    }

    /// <summary>Removes a staging folder, unless it holds a cache that is still aside (a put-back that failed), which stays for <see cref="Recover"/>.</summary>
    public static void Discard(string dir, string staging)
    {
        if (!HoldsAside(dir, staging)) Directory.Delete(staging, recursive: true);
    }

    /// <summary>
    /// Puts back the cache a dead prepare left aside, and removes every staging folder. The caller holds the lock:
    /// any staging folder is then a dead prepare's.
    /// </summary>
    public static void RemoveStaging(string dir)
    {
        foreach (var stale in Stagings(dir).ToList())
        {
            PutBack(dir, stale);
            // What is left is litter once the cache is back: a staging folder that cannot go (another user's) blocks nothing.
            try { Directory.Delete(stale, recursive: true); }
            catch (Exception e) when ((e is IOException or UnauthorizedAccessException) && !HoldsAside(dir, stale)) { }
        }
    }


    /// <summary>
    /// For a reader of a cache folder that has no meta.json: puts back the cache a dead prepare left aside. While
    /// another process holds the folder (a reader putting the cache back, or a prepare), it waits; a cache that cannot
    /// come back now (the folder is read-only, or another process holds it still) is a <see cref="DataException"/>
    /// that says so, not a missing cache to build again.
    /// </summary>
    /// <param name="patience">How long to wait for the folder's lock (10 s by default): another reader may be putting the cache back.</param>
    /// <param name="ct">Ends the wait (Ctrl+C) with <see cref="OperationCanceledException"/>.</param>
    public static void Recover(string dir, TimeSpan? patience = null, CancellationToken ct = default)
    {
        if (!Directory.Exists(dir)) return;
        var deadline = DateTime.UtcNow + (patience ?? TimeSpan.FromSeconds(10));
        while (Waiting(dir) is { } staging)
        {
            FileStream? held;
            try { held = TryHold(dir); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new DataException(dir, $"token cache {dir} was moved aside by an interrupted prepare and waits in {staging}; it comes back once the folder can be written ({e.Message})");
            }
            if (held is not null)
            {
                using (held) RemoveStaging(dir);
                return;
            }
            if (DateTime.UtcNow > deadline)
                throw new DataException(dir, $"token cache {dir} is being prepared or put back by another process");
            if (ct.WaitHandle.WaitOne(50)) ct.ThrowIfCancellationRequested();
        }
    }

    /// <summary>The staging folder holding a cache aside while the folder has no meta.json of its own; null when there is none.</summary>
    static string? Waiting(string dir) => File.Exists(Path.Combine(dir, TokenCacheMeta.FileName)) ? null : Stagings(dir).FirstOrDefault(s => HoldsAside(dir, s));

    static bool HoldsAside(string dir, string staging)
        => !File.Exists(Path.Combine(dir, TokenCacheMeta.FileName)) && File.Exists(Path.Combine(staging, Aside, TokenCacheMeta.FileName));

    /// <summary>Moves a cache left aside in <paramref name="staging"/> back, meta.json last, unless the folder has a meta.json of its own.</summary>
    static void PutBack(string dir, string staging)
    {
        if (!HoldsAside(dir, staging)) return;
        var aside = Path.Combine(staging, Aside);
        foreach (var name in Files)
            if (File.Exists(Path.Combine(aside, name))) File.Move(Path.Combine(aside, name), Path.Combine(dir, name), overwrite: true);
    }
}
