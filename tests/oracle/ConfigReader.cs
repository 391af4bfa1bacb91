// Interop oracle: opens a config file with .NET's own System.Configuration (as K2 does) and
// prints every connection string it sees, one per line: <hex name> <hex connectionString>.
// Exits 2 with the exception on stderr when .NET refuses the file.
using System;
using System.Configuration;
using System.Text;

static class ConfigReader
{
    static string Hex(string s)
    {
        if (string.IsNullOrEmpty(s)) return "-";
        var sb = new StringBuilder();
        foreach (byte b in Encoding.UTF8.GetBytes(s)) sb.Append(b.ToString("x2"));
        return sb.ToString();
    }

    static int Main(string[] args)
    {
        try
        {
            var map = new ExeConfigurationFileMap { ExeConfigFilename = args[0] };
            var config = ConfigurationManager.OpenMappedExeConfiguration(map, ConfigurationUserLevel.None);
            foreach (ConnectionStringSettings cs in config.ConnectionStrings.ConnectionStrings)
                Console.WriteLine(Hex(cs.Name) + " " + Hex(cs.ConnectionString));
            return 0;
        }
        catch (Exception e)
        {
            Console.Error.WriteLine(e.GetType().Name + ": " + e.Message);
            return 2;
        }
    }
}
