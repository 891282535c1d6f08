# Tests for mem.headroom and env.fingerprint (issue #3).
pf_add_unit(test_meminfo test_meminfo.c)
pf_add_unit(test_mem_decide test_mem_decide.c)
pf_add_unit(test_safetensors test_safetensors.c st_fixture.c)

# A stand-in libnvidia-ml for the NVML path of the GPU process listing.
add_library(pf_fake_nvml SHARED fixtures_mem/fake_nvml.c)
set_target_properties(pf_fake_nvml PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR}/memfix)
pf_add_unit(test_gpuprocs test_gpuprocs.c)
add_dependencies(test_gpuprocs pf_fake_nvml)
target_compile_definitions(test_gpuprocs PRIVATE PF_FAKE_NVML="$<TARGET_FILE:pf_fake_nvml>")

# Fake Python environments with stand-in NCCL and torch libraries, built with
# the real compiler and linker so that DT_NEEDED, DT_RUNPATH/DT_RPATH, the
# SONAME and the build-id are what the loader and our ELF reader see.
set(PF_MEMFIX ${CMAKE_CURRENT_BINARY_DIR}/memfix)
set(PF_MEMFIX_OUTPUTS "")
function(pf_mem_fake_so out src)
  get_filename_component(dir ${out} DIRECTORY)
  add_custom_command(OUTPUT ${out}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${dir}
    COMMAND ${CMAKE_C_COMPILER} -shared -fPIC -O1 -Wl,--build-id=sha1 -o ${out}
            ${CMAKE_CURRENT_SOURCE_DIR}/fixtures_mem/${src} ${ARGN}
    DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/fixtures_mem/${src} ${PF_MEMFIX_OUTPUTS}
    VERBATIM)
  set(PF_MEMFIX_OUTPUTS ${PF_MEMFIX_OUTPUTS} ${out} PARENT_SCOPE)
endfunction()
set(PF_SITE lib/python3.12/site-packages)
foreach(v runpath rpath notorch)
  pf_mem_fake_so(${PF_MEMFIX}/venv_${v}/${PF_SITE}/nvidia/nccl/lib/libnccl.so.2 fake_nccl.c
                 -Wl,-soname,libnccl.so.2 -DFAKE_MAJOR=2 -DFAKE_MINOR=18 -DFAKE_PATCH=1 -DFAKE_CUDA=12.2)
endforeach()
foreach(v runpath rpath)
  if(v STREQUAL "runpath")
    set(dtags -Wl,--enable-new-dtags)
  else()
    set(dtags -Wl,--disable-new-dtags)
  endif()
  pf_mem_fake_so(${PF_MEMFIX}/venv_${v}/${PF_SITE}/torch/lib/libtorch_cuda.so fake_torch_cuda.c
                 ${dtags} "-Wl,-rpath,$ORIGIN/../../nvidia/nccl/lib:$ORIGIN"
                 -L${PF_MEMFIX}/venv_${v}/${PF_SITE}/nvidia/nccl/lib -l:libnccl.so.2)
endforeach()
pf_mem_fake_so(${PF_MEMFIX}/venv_static/${PF_SITE}/torch/lib/libtorch_cuda.so fake_nccl.c
               -DFAKE_MAJOR=2 -DFAKE_MINOR=21 -DFAKE_PATCH=5 -DFAKE_CUDA=12.4)
pf_mem_fake_so(${PF_MEMFIX}/ldlp/libnccl.so.2 fake_nccl.c
               -Wl,-soname,libnccl.so.2 -DFAKE_MAJOR=2 -DFAKE_MINOR=27 -DFAKE_PATCH=7 -DFAKE_CUDA=12.9)
add_custom_target(pf_mem_fixtures DEPENDS ${PF_MEMFIX_OUTPUTS})

pf_add_unit(test_libnccl test_libnccl.c)
add_dependencies(test_libnccl pf_mem_fixtures)
target_compile_definitions(test_libnccl PRIVATE PF_MEMFIX="${PF_MEMFIX}")

pf_add_unit(test_fingerprint test_fingerprint.c)
add_dependencies(test_fingerprint pf_mem_fixtures)
target_compile_definitions(test_fingerprint PRIVATE PF_MEMFIX="${PF_MEMFIX}")

pf_add_unit(test_mem_probe test_mem_probe.c st_fixture.c)
