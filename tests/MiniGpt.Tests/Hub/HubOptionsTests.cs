using MiniGpt.Hub;

namespace MiniGpt.Tests.Hub;

public class HubOptionsTests
{
    const string Home = "/home/u";

    static HubOptions From(params (string Name, string Value)[] vars)
        => HubOptions.FromEnvironment(name => vars.FirstOrDefault(v => v.Name == name).Value, Home);

    [Fact]
    public void Defaults_AreHuggingFaceCo_AndTheCacheUnderHome()
    {
        var o = From();
        Assert.Equal((new Uri("https://huggingface.co"), "/home/u/.cache/huggingface/hub", false, TimeSpan.FromSeconds(10)), (o.Endpoint, o.CacheDir, o.Offline, o.Timeout));
    }

    [Theory]
    [InlineData("/x/hub-cache", "/h", "/xdg", "/x/hub-cache")]    // HF_HUB_CACHE wins
    [InlineData(null, "/h", "/xdg", "/h/hub")]                     // then HF_HOME/hub
    [InlineData(null, null, "/xdg", "/xdg/huggingface/hub")]       // then $XDG_CACHE_HOME/huggingface/hub
    [InlineData(null, null, null, "/home/u/.cache/huggingface/hub")]
    [InlineData("", "", "", "/home/u/.cache/huggingface/hub")]     // empty counts as unset
    [InlineData(null, "~/hf", null, "/home/u/hf/hub")]             // ~ is the home folder
    public void TheCache_FollowsHuggingFaceHubsPrecedence(string? hubCache, string? hfHome, string? xdg, string expected)
    {
        var vars = new[] { ("HF_HUB_CACHE", hubCache), ("HF_HOME", hfHome), ("XDG_CACHE_HOME", xdg) }.Where(v => v.Item2 is not null).Select(v => (v.Item1, v.Item2!)).ToArray();
        Assert.Equal(expected, From(vars).CacheDir);
    }

    [Fact]
    public void TheLegacyCacheVariable_IsUsed_BelowHfHubCache()
    {
        Assert.Equal("/legacy", From(("HUGGINGFACE_HUB_CACHE", "/legacy"), ("HF_HOME", "/h")).CacheDir);
        Assert.Equal("/new", From(("HUGGINGFACE_HUB_CACHE", "/legacy"), ("HF_HUB_CACHE", "/new")).CacheDir);
    }

    [Theory]
    [InlineData("1", true)]
    [InlineData("true", true)]
    [InlineData("ON", true)]
    [InlineData("yes", true)]
    [InlineData("0", false)]
    [InlineData("false", false)]
    [InlineData("", false)]
    public void HfHubOffline_TurnsDownloadsOff(string value, bool offline)
    {
        Assert.Equal(offline, From(("HF_HUB_OFFLINE", value)).Offline);
    }

    [Fact]
    public void TransformersOffline_CountsWhenHfHubOfflineIsUnset()
    {
        Assert.True(From(("TRANSFORMERS_OFFLINE", "1")).Offline);
        Assert.False(From(("TRANSFORMERS_OFFLINE", "1"), ("HF_HUB_OFFLINE", "0")).Offline);
    }

    [Fact]
    public void HfEndpoint_NamesAnotherHub_WithoutItsTrailingSlash()
    {
        Assert.Equal("https://hf-mirror.example/mirror", From(("HF_ENDPOINT", "https://hf-mirror.example/mirror/")).Endpoint.AbsoluteUri);
        Assert.Equal(new Uri("http://127.0.0.1:8080"), From(("HF_ENDPOINT", "http://127.0.0.1:8080")).Endpoint);
    }

    [Theory]
    [InlineData("HF_ENDPOINT", "huggingface.co", "HF_ENDPOINT = 'huggingface.co': must be an http:// or https:// address, like https://huggingface.co")]
    [InlineData("HF_ENDPOINT", "ftp://x", "HF_ENDPOINT = 'ftp://x': must be an http:// or https:// address, like https://huggingface.co")]
    [InlineData("HF_HUB_DOWNLOAD_TIMEOUT", "soon", "HF_HUB_DOWNLOAD_TIMEOUT = 'soon': must be a positive number of seconds")]
    [InlineData("HF_HUB_DOWNLOAD_TIMEOUT", "0", "HF_HUB_DOWNLOAD_TIMEOUT = '0': must be a positive number of seconds")]
    public void UnusableValues_AreConfigErrors_NamingTheVariable(string name, string value, string message)
    {
        Assert.Equal(message, Assert.Throws<ConfigException>(() => From((name, value))).Message);
    }

    [Fact]
    public void TheDownloadTimeout_IsInSeconds()
    {
        Assert.Equal(TimeSpan.FromSeconds(2.5), From(("HF_HUB_DOWNLOAD_TIMEOUT", "2.5")).Timeout);
    }

    [Fact]
    public void PretrainedModels_AreTheGpt2Family_OnOpenaiCommunity()
    {
        Assert.Equal(["gpt2", "gpt2-medium", "gpt2-large", "gpt2-xl"], PretrainedModels.Names);
        Assert.All(PretrainedModels.Names, n => Assert.True(PretrainedModels.TryGetRepo(n, out var repo) && repo == "openai-community/" + n));
        Assert.False(PretrainedModels.TryGetRepo("gpt3", out _));
        Assert.Equal(["config.json", "model.safetensors", "vocab.json", "merges.txt"], PretrainedModels.RequiredFiles);
    }
}
