{
  "targets": [
    {
      "target_name": "avcv",
      "sources": [
        "<!@(node -p \"require('fs').readdirSync('native/core').filter(f => f.endsWith('.cpp')).map(f => 'native/core/' + f).join(' ')\")",
        "<!@(node -p \"require('fs').readdirSync('native/binding').filter(f => f.endsWith('.cpp')).map(f => 'native/binding/' + f).join(' ')\")"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "native",
        "<!@(pkg-config --cflags-only-I libavformat libavcodec libavutil libswscale libswresample libavfilter libavdevice opencv4 | sed 's/-I//g')"
      ],
      "libraries": [
        "<!@(pkg-config --libs libavformat libavcodec libavutil libswscale libswresample libavfilter libavdevice opencv4)"
      ],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED", "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++1y", "-std=gnu++17"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-frtti", "-fvisibility=hidden", "-O2"],
      "cflags!": ["-fno-exceptions"]
    }
  ]
}
