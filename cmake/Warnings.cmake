# mmapd_warnings: an INTERFACE target every project target links PRIVATE.
# Each flag is probed, so an older or different compiler simply skips it.
include(CheckCCompilerFlag)
add_library(mmapd_warnings INTERFACE)
foreach(flag -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes
             -Wpointer-arith -Wformat=2 -Wvla -Wundef -Wcast-align
             -Wno-unused-parameter)
  string(MAKE_C_IDENTIFIER "HAVE${flag}" var)
  check_c_compiler_flag(${flag} ${var})
  if(${var})
    target_compile_options(mmapd_warnings INTERFACE ${flag})
  endif()
endforeach()
target_compile_definitions(mmapd_warnings INTERFACE _GNU_SOURCE)
if(MMAPD_WERROR)
  target_compile_options(mmapd_warnings INTERFACE -Werror)
endif()
