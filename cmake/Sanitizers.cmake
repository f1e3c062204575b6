# MMAPD_SANITIZE applies to every project target through mmapd_warnings
# (an INTERFACE target they all link), never through global CMAKE_C_FLAGS, so
# third-party code found by pkg-config is untouched.
if(MMAPD_SANITIZE)
  set(_san -fsanitize=${MMAPD_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  target_compile_options(mmapd_warnings INTERFACE ${_san} -g)
  target_link_options(mmapd_warnings INTERFACE ${_san})
endif()

# MMAPD_FUZZ builds the libFuzzer targets in tests/fuzz (needs clang).
option(MMAPD_FUZZ "Build libFuzzer targets (clang only)" OFF)
