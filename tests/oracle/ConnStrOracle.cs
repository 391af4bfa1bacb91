// Differential oracle: reads hex-encoded UTF-8 connection strings, one per line, and answers
// with what .NET's DbConnectionStringBuilder makes of each.
//   OK <hex key> <hex value> <hex key=value as .NET writes that one pair> ...
//   ERR <index from the exception message, or -1> <hex exception type and message>
using System;
using System.Data.Common;
using System.Text;
using System.Text.RegularExpressions;

static class ConnStrOracle
{
    static string Hex(string s)
    {
        var sb = new StringBuilder();
        foreach (byte b in Encoding.UTF8.GetBytes(s)) sb.Append(b.ToString("x2"));
        return sb.Length == 0 ? "-" : sb.ToString();
    }

    static string Unhex(string h)
    {
        if (h == "-") return "";
        var bytes = new byte[h.Length / 2];
        for (int i = 0; i < bytes.Length; i++) bytes[i] = Convert.ToByte(h.Substring(2 * i, 2), 16);
        return Encoding.UTF8.GetString(bytes);
    }

    static void Main()
    {
        string line;
        while ((line = Console.ReadLine()) != null)
        {
            var input = Unhex(line.Trim());
            var sb = new StringBuilder();
            try
            {
                var b = new DbConnectionStringBuilder();
                b.ConnectionString = input;
                sb.Append("OK");
                foreach (string k in b.Keys)
                {
                    var v = (string)b[k];
                    var one = new DbConnectionStringBuilder();
                    one[k] = v;
                    sb.Append(' ').Append(Hex(k)).Append(' ').Append(Hex(v)).Append(' ').Append(Hex(one.ConnectionString));
                }
            }
            catch (Exception e)
            {
                var m = Regex.Match(e.Message, @"index (\d+)");
                sb.Append("ERR ").Append(m.Success ? m.Groups[1].Value : "-1").Append(' ')
                  .Append(Hex(e.GetType().Name + ": " + e.Message));
            }
            Console.WriteLine(sb.ToString());
        }
    }
}
