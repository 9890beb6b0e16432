namespace MiniGpt.IO;

/// <summary>How much memory the machine can still give this process.</summary>
public static class HostMemory
{
    /// <summary>Linux's MemAvailable (free memory plus what caches would give back); null where /proc/meminfo has none.</summary>
    public static long? AvailableBytes()
    {
        const string path = "/proc/meminfo";
        if (!File.Exists(path)) return null;
        var line = File.ReadLines(path).FirstOrDefault(l => l.StartsWith("MemAvailable:"));
        var parts = line?.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return parts is [_, var kb, "kB"] && long.TryParse(kb, out var k) ? k * 1024 : null;
    }
}
