using System.Globalization;

namespace MiniGpt.Hub;

/// <summary>Where models come from and where they are kept.</summary>
/// <param name="Endpoint">The hub's address, e.g. https://huggingface.co (a mirror works the same).</param>
/// <param name="CacheDir">The hub cache, shared with Python's huggingface_hub: models--{owner}--{name} folders.</param>
/// <param name="Offline">Never ask the hub: only what the cache already holds is used.</param>
public sealed record HubOptions(Uri Endpoint, string CacheDir, bool Offline = false)
{
    public static readonly Uri DefaultEndpoint = new("https://huggingface.co");
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(10);

    /// <summary>How long the hub may stay silent: to connect, to answer a request, or between two reads of a download.</summary>
    public TimeSpan Timeout { get; init; } = DefaultTimeout;

    /// <summary>
    /// The settings huggingface_hub takes from the environment, by its rules: HF_ENDPOINT (default
    /// https://huggingface.co); the cache HF_HUB_CACHE, else HUGGINGFACE_HUB_CACHE, else HF_HOME/hub, where HF_HOME
    /// defaults to $XDG_CACHE_HOME/huggingface, else ~/.cache/huggingface; HF_HUB_OFFLINE (or TRANSFORMERS_OFFLINE)
    /// set to 1, ON, YES or TRUE turns downloads off; HF_HUB_DOWNLOAD_TIMEOUT in seconds. A leading ~ stands for
    /// <paramref name="home"/>; an empty variable counts as unset.
    /// </summary>
    /// <param name="env">Looks up a variable (Environment.GetEnvironmentVariable in normal use); null when unset.</param>
    /// <param name="home">The user's home folder.</param>
    public static HubOptions FromEnvironment(Func<string, string?> env, string home)
    {
        string? Get(string name) => env(name) is { Length: > 0 } v ? ExpandHome(v, home) : null;

        var hfHome = Get("HF_HOME") ?? Path.Combine(Get("XDG_CACHE_HOME") ?? Path.Combine(home, ".cache"), "huggingface");
        var cache = Get("HF_HUB_CACHE") ?? Get("HUGGINGFACE_HUB_CACHE") ?? Path.Combine(hfHome, "hub");
        var offline = (env("HF_HUB_OFFLINE") is { Length: > 0 } o ? o : env("TRANSFORMERS_OFFLINE"))?.Trim().ToUpperInvariant() is "1" or "ON" or "YES" or "TRUE";
        return new HubOptions(ParseEndpoint(env("HF_ENDPOINT")), cache, offline) { Timeout = ParseTimeout(env("HF_HUB_DOWNLOAD_TIMEOUT")) };
    }

    static Uri ParseEndpoint(string? value)
    {
        if (string.IsNullOrEmpty(value)) return DefaultEndpoint;
        if (!Uri.TryCreate(value.TrimEnd('/'), UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || uri.Query.Length > 0)
            throw new ConfigException("HF_ENDPOINT", value, "must be an http:// or https:// address, like https://huggingface.co");
        return uri;
    }

    static TimeSpan ParseTimeout(string? value)
    {
        if (string.IsNullOrEmpty(value)) return DefaultTimeout;
        if (!double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) || !(seconds > 0) || seconds > int.MaxValue / 1000)
            throw new ConfigException("HF_HUB_DOWNLOAD_TIMEOUT", value, "must be a positive number of seconds");
        return TimeSpan.FromSeconds(seconds);
    }

    static string ExpandHome(string path, string home)
        => path == "~" ? home : path.StartsWith("~/") || path.StartsWith("~" + Path.DirectorySeparatorChar) ? Path.Combine(home, path[2..]) : path;
}
